"""The local worker: the detection pipeline's stand-in on a laptop, inside the server's process.

With memory storage, the job store's change feed puts every created and cancelled job's message
on an in-process queue (``entrypoints.bootstrap``). ``blueprint-jobs serve --worker COMMAND``
starts this worker on a thread of its own, which takes those messages:

- ``job.created``: it reports ``started``, runs the detector command on the blueprint
  (``entrypoints.detector``), stores its JSON document under ``results/<job_id>.json`` and
  reports ``completed``; or it reports ``failed`` with ``DETECTOR_FAILED``,
  ``DETECTOR_TIMEOUT`` or ``DETECTOR_OUTPUT_INVALID``.
- ``job.cancelled``: it stops that job's detector, if it is running.

Every report is a pipeline update, read by ``ProgressUpdate.parse`` from its JSON form and
applied by ``Progress``, exactly as the AWS progress consumer applies the updates it takes from
SQS: a report that no longer applies (the job was cancelled meanwhile) is ignored, with a log
line. One detector runs at a time; the other jobs wait their turn, in order. The worker also
runs the sweeper now and then, so that a job left processing (or pending) is failed (or sent
again). Nothing stops it but ``stop``: an error is logged and the job it concerns failed
(``WORKER_ERROR``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from attrs import frozen

from domain.errors import DomainError
from domain.pipeline import (
    MAX_RESULT_BYTES,
    RESULT_PREFIX,
    JobMessage,
    MessageKind,
    ProgressUpdate,
    UpdateKind,
)
from domain.use_cases import Outcome, Progress
from domain.use_cases.sweeper import Sweeper
from entrypoints.bootstrap import Components
from entrypoints.detector import DetectorCommand, DetectorRun, Failure, Verdict
from entrypoints.settings import ConfigurationError, Settings
from ports.blobs import BlobStore
from ports.system import Entropy

log = logging.getLogger("blueprint_jobs.worker")

WORKER_ERROR = "WORKER_ERROR"
# How long the worker waits for a message before it looks at its detector again.
POLL_SECONDS = 0.05
# The sweeper runs this often at most (more often when its timeouts are short).
MAX_SWEEP_EVERY_SECONDS = 30.0
READ_CHUNK_BYTES = 1024 * 1024
STOP_WAIT_SECONDS = 10.0


class Inbox(Protocol):
    def receive(self, timeout: float | None = None) -> JobMessage | None:
        """The next message, waiting up to ``timeout`` seconds; None if none came."""


@frozen
class _Running:
    job_id: str
    run: DetectorRun


class LocalWorker:
    def __init__(
        self,
        inbox: Inbox,
        blobs: BlobStore,
        progress: Progress,
        sweeper: Sweeper,
        entropy: Entropy,
        command: DetectorCommand,
        *,
        timeout_seconds: float,
        sweep_every_seconds: float = MAX_SWEEP_EVERY_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inbox = inbox
        self._blobs = blobs
        self._progress = progress
        self._sweeper = sweeper
        self._entropy = entropy
        self._command = command
        self._timeout = timeout_seconds
        self._sweep_every = sweep_every_seconds
        self._poll = poll_seconds
        self._monotonic = monotonic
        self._next_sweep = monotonic() + sweep_every_seconds
        self._backlog: dict[str, JobMessage] = {}  # job id -> its message, oldest first
        self._running: _Running | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, components: Components, settings: Settings) -> LocalWorker:
        """The worker the settings ask for, over the in-process pipeline of ``components``."""
        pipeline = components.pipeline
        if settings.worker_command is None:
            raise ConfigurationError("no detector command is set (--worker, BLUEPRINT_JOBS_WORKER)")
        if pipeline is None:
            raise ConfigurationError(
                "the local worker runs with memory storage only (on AWS the pipeline takes "
                "its jobs from SQS)"
            )
        return cls(
            pipeline.queue,
            pipeline.blobs,
            components.use_cases.progress,
            pipeline.sweeper,
            components.entropy,
            DetectorCommand.parse(settings.worker_command),
            timeout_seconds=settings.worker_timeout_seconds,
            sweep_every_seconds=min(
                MAX_SWEEP_EVERY_SECONDS,
                settings.processing_timeout_seconds / 4,
                settings.resend_after_seconds / 4,
            ),
        )

    @property
    def sweep_every_seconds(self) -> float:
        return self._sweep_every

    @property
    def alive(self) -> bool:
        """Whether its thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def running_pid(self) -> int | None:
        """The running detector's process id, if one runs."""
        return None if self._running is None else self._running.run.pid

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="local-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop the thread, and the detector it runs; the job it ran stays ``processing``."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self.step()
                except Exception:
                    log.exception("the local worker failed a step; it carries on")
                    self._stopping.wait(self._poll)
        finally:
            if self._running is not None:
                self._halt("the server is stopping")

    def step(self) -> None:
        """One turn: start the next job if no detector runs, take a message if one comes, see
        to the running detector, and sweep when it is time."""
        if self._running is None and self._backlog:
            self._begin(self._backlog.pop(next(iter(self._backlog))))
        message = self._inbox.receive(timeout=self._poll)
        if message is not None:
            self._take(message)
        if self._running is not None:
            self._watch(self._running)
        if self._monotonic() >= self._next_sweep:
            self._sweep()

    def _take(self, message: JobMessage) -> None:
        job_id = message.job_id
        if message.kind is MessageKind.CREATED:
            # A message sent again (the sweeper's) while its job waits or runs is the same job.
            if job_id not in self._backlog and not self._runs(job_id):
                self._backlog[job_id] = message
            return
        self._backlog.pop(job_id, None)
        if self._runs(job_id):
            self._halt("the job was cancelled")

    def _runs(self, job_id: str) -> bool:
        return self._running is not None and self._running.job_id == job_id

    def _begin(self, message: JobMessage) -> None:
        job_id = message.job_id
        outcome = self._report(job_id, UpdateKind.STARTED)
        if outcome is None:
            return  # not started (logged): the sweeper sends it again
        if outcome is not Outcome.APPLIED:
            log.info(
                "the job has moved on: the detector is not run",
                extra={"job_id": job_id, "outcome": outcome.value},
            )
            return
        try:
            run = DetectorRun(
                self._command,
                self._blobs.stream(message.blueprint_key, READ_CHUNK_BYTES),
                message.blueprint_format,
                timeout_seconds=self._timeout,
                monotonic=self._monotonic,
            )
        except OSError as error:
            log.warning("the detector could not start", extra={"job_id": job_id})
            self._conclude(job_id, Verdict.failed(Failure.FAILED, f"It could not start: {error}"))
            return
        except Exception:
            self._crashed(job_id)
            return
        self._running = _Running(job_id, run)
        log.info("detector started", extra={"job_id": job_id})

    def _watch(self, running: _Running) -> None:
        try:
            verdict = running.run.poll()
            if verdict is None:
                return
            self._running = None
            running.run.close()
            self._conclude(running.job_id, verdict)
        except Exception:
            self._running = None
            running.run.close()
            self._crashed(running.job_id)

    def _conclude(self, job_id: str, verdict: Verdict) -> None:
        if verdict.result is None:
            assert verdict.failure is not None
            self._fail(job_id, verdict.failure.value, verdict.message)
            return
        key = f"{RESULT_PREFIX}{job_id}.json"
        self._blobs.put(key, [verdict.result], MAX_RESULT_BYTES)
        if self._report(job_id, UpdateKind.COMPLETED, result_key=key) is Outcome.TERMINAL:
            self._blobs.delete(key)  # the job ended otherwise: nobody will read this result

    def _crashed(self, job_id: str) -> None:
        log.exception("the local worker failed on a job", extra={"job_id": job_id})
        self._fail(job_id, WORKER_ERROR, "The local worker failed on this job; see its log.")

    def _fail(self, job_id: str, code: str, message: str) -> None:
        self._report(job_id, UpdateKind.FAILED, error={"code": code, "message": message})

    def _halt(self, why: str) -> None:
        running, self._running = self._running, None
        assert running is not None
        running.run.close()
        log.info(f"detector stopped: {why}", extra={"job_id": running.job_id})

    def _sweep(self) -> None:
        self._next_sweep = self._monotonic() + self._sweep_every
        try:
            report = self._sweeper.sweep()
        except DomainError:
            log.exception("the sweep failed; the next one tries again")
            return
        if self._running is not None and self._running.job_id in report.failed:
            self._halt("the job ran past the processing timeout")

    def _report(self, job_id: str, kind: UpdateKind, **fields: Any) -> Outcome | None:
        """Apply an update as the pipeline sends it; its outcome, or None if it could not be
        applied (the store failed: the sweeper sees to the job later)."""
        event_id = f"local-{self._entropy.random_bytes(10).hex()}"
        update = ProgressUpdate.parse(
            {"event_id": event_id, "job_id": job_id, "type": kind.value, **fields}
        )
        try:
            outcome = self._progress.apply(update)
        except DomainError as error:
            log.warning(
                "an update could not be applied",
                extra={
                    "job_id": job_id,
                    "event_id": event_id,
                    "update": kind.value,
                    "error_code": error.code,
                },
            )
            return None
        log.info(
            "update applied" if outcome is Outcome.APPLIED else "update not applied",
            extra={
                "job_id": job_id,
                "event_id": event_id,
                "update": kind.value,
                "outcome": outcome.value,
                "error_code": update.error_code,
            },
        )
        return outcome
