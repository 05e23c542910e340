"""The composition root: the one place where ports meet their adapters.

Nothing here runs at import time. Adapters are imported only when configured: a process
serving from memory never loads botocore, one serving from AWS never loads the memory stores.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from attrs import frozen

from domain.job import Job
from domain.pipeline import messages_for_change
from domain.principals import SCOPES
from domain.use_cases import UseCases
from domain.use_cases.sweeper import Sweeper
from entrypoints.deadline import Monotonic
from entrypoints.http.api import Api
from entrypoints.http.auth import TokenVerifier
from entrypoints.logs import configure_logging
from entrypoints.settings import DEV_OWNER, Settings
from ports.blobs import BlobStore
from ports.idempotency import IdempotencyStore
from ports.pipeline import PipelineQueue
from ports.system import Clock, Entropy

if TYPE_CHECKING:
    from adapters.memory import MemoryPipelineQueue


@frozen
class LocalPipeline:
    """With memory storage, the pipeline's side in this process: the queue that the job
    store's change feed fills (the local outbox), and what a local worker needs beside the use
    cases (``entrypoints.local_pipeline``)."""

    queue: MemoryPipelineQueue
    blobs: BlobStore
    sweeper: Sweeper


@frozen
class Components:
    """What the entrypoints serve: the use cases, and what the HTTP edge needs beside them."""

    use_cases: UseCases
    idempotency: IdempotencyStore
    clock: Clock
    entropy: Entropy
    # With memory storage only: on AWS the outbox is the table's stream, and SQS the queue.
    pipeline: LocalPipeline | None = None


def outbox(queue: PipelineQueue) -> Callable[[Job | None, Job], None]:
    """A job store's change listener that sends the messages each change calls for: the same
    mapping (``messages_for_change``) as the AWS stream consumer's."""

    def send(before: Job | None, after: Job) -> None:
        for message in messages_for_change(before, after):
            queue.send(message)

    return send


def build(settings: Settings) -> Components:
    """The use cases and the idempotency store on the storage the settings name."""
    from adapters.system import OsEntropy, SystemClock

    clock, entropy = SystemClock(), OsEntropy()
    if settings.storage == "memory":
        from adapters.memory import (
            MemoryApiKeyStore,
            MemoryBlobStore,
            MemoryIdempotencyStore,
            MemoryJobStore,
            MemoryPipelineQueue,
            MemoryRateCounter,
        )

        # The secret signs the local server's upload forms; a new one each process is enough.
        blobs = MemoryBlobStore(upload_secret=entropy.random_bytes(32), clock=clock)
        jobs, queue = MemoryJobStore(), MemoryPipelineQueue()
        if settings.worker_command is not None:
            # Only a worker takes messages off the in-process queue: without one, they would
            # pile up for the life of the process.
            jobs.subscribe(outbox(queue))
        use_cases = UseCases.over(
            jobs,
            blobs,
            clock,
            entropy,
            keys=MemoryApiKeyStore(),
            counter=MemoryRateCounter(clock),
            rate_policies=settings.rate_policies,
            unfinished_limit=settings.max_unfinished_jobs,
            result_cache=settings.result_cache,
        )
        if settings.dev_api_key is not None:
            use_cases.access.create_key(
                DEV_OWNER, "development key", SCOPES, secret=settings.dev_api_key
            )
        sweeper = Sweeper(
            jobs,
            use_cases.lifecycle,
            queue,
            clock,
            processing_timeout=timedelta(seconds=settings.processing_timeout_seconds),
            resend_after=timedelta(seconds=settings.resend_after_seconds),
        )
        pipeline = LocalPipeline(queue, blobs, sweeper)
        return Components(use_cases, MemoryIdempotencyStore(), clock, entropy, pipeline)
    from entrypoints.aws import aws_components  # keeps botocore off the memory path

    use_cases, idempotency = aws_components(settings, clock, entropy)
    return Components(use_cases, idempotency, clock, entropy)


def build_api(
    settings: Settings,
    *,
    configure_logs: bool = True,
    monotonic: Monotonic | None = None,
    verify_jwts: bool = False,
    components: Components | None = None,
) -> Api:
    """The HTTP contract over the configured storage: what both entrypoints serve.

    ``verify_jwts``: the local server checks bearer JWTs itself, against the configured
    issuer's keys (if an issuer is configured). On Lambda it stays off: API Gateway's
    authorizer has checked the token and the event carries its claims, and the function never
    loads PyJWT. ``components``: what ``build`` made of the settings, if the caller made it
    (the local server, to hand its in-process pipeline to the worker)."""
    if configure_logs:
        configure_logging(settings.log_level)
    verifier: TokenVerifier | None = None
    if verify_jwts and settings.jwt_issuer:
        from entrypoints.jwt_verifier import JwtVerifier  # PyJWT: the server extra only

        verifier = JwtVerifier.of(settings)
    built = components or build(settings)
    return Api(
        built.use_cases,
        settings,
        idempotency=built.idempotency,
        clock=built.clock,
        entropy=built.entropy,
        monotonic=monotonic,
        verifier=verifier,
    )
