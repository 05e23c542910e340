"""What the use cases share: who created a job, the checks on ids and versions, and the
removal of a blob that no job will point at."""

from __future__ import annotations

import logging

from attrs import frozen

from domain import ids
from domain.errors import InvalidJobId, JobNotFound, PreconditionFailed
from domain.job import Job
from ports.blobs import BlobStore

log = logging.getLogger("domain.use_cases")


@frozen
class Origin:
    """Who created a job (its owner), and which request: recorded on the job for tracing."""

    owner: str
    request_id: str
    correlation_id: str
    api_version: str


def owned(job: Job, owner: str) -> Job:
    """``job`` if it is ``owner``'s. Another owner's job is answered exactly as a job that does
    not exist: an id never tells whether someone else has such a job."""
    if job.owner != owner:
        raise JobNotFound("No job has this id.", job_id=job.job_id)
    return job


def check_job_id(job_id: str) -> None:
    if not ids.is_job_id(job_id):
        raise InvalidJobId(
            "A job id is 'job_' followed by 26 lowercase ULID characters.",
            job_id=ids.echo(job_id),
        )


def check_version(job: Job, expected_version: int | None) -> None:
    if expected_version is not None and job.version != expected_version:
        raise PreconditionFailed(
            "The job changed after the version you sent.",
            job_id=job.job_id,
            expected_version=expected_version,
            current_version=job.version,
        )


def discard_blob(blobs: BlobStore, key: str) -> None:
    """Remove a blob no job will point at; a failure is logged, never hidden or raised."""
    try:
        blobs.delete(key)
    except Exception:
        log.exception(
            "could not remove the blob of a job that was not recorded", extra={"blob_key": key}
        )
