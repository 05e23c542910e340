"""Creating jobs when the world misbehaves: a client replacing its upload while the service
checks it, an upload of another size than declared, and job writes whose outcome is unknown."""

from __future__ import annotations

import hashlib

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.errors import (
    DomainError,
    JobNotFound,
    ServiceUnavailable,
    UploadIncomplete,
    UploadSizeMismatch,
)
from domain.use_cases import UseCases
from tests.blueprints import pdf, png
from tests.fakes import (
    OWNER,
    SeededEntropy,
    SteppingClock,
    SwappingBlobStore,
    UnknownOutcomeJobStore,
)
from tests.helpers import ORIGIN, use_cases_over

SCRIPT = b"#!/bin/sh\nrm -rf --no-preserve-root /\n" + b"#" * 60


def job_blobs(blobs: MemoryBlobStore) -> list[str]:
    return [key for key in blobs.keys() if key.startswith("blueprints/")]  # noqa: SIM118


def upload(service: UseCases, blobs: MemoryBlobStore, data: bytes, fmt: str = "png") -> str:
    session, form = service.intake.open_upload(OWNER, fmt, len(data))
    service.intake.receive_upload(form.fields, [data])
    return session.upload_id


@pytest.mark.parametrize("operation", ["copy", "after_copy", "size", "read_range", "stream"])
@pytest.mark.parametrize("replacement", [SCRIPT, png() + b"\x00" * 7, pdf()])
def test_a_job_records_exactly_the_bytes_its_blob_holds(operation: str, replacement: bytes) -> None:
    """Whenever the client swaps its upload, the job is refused or consistent with its blob."""
    blobs = SwappingBlobStore(operation, replacement)
    jobs = MemoryJobStore()
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    data = png() + b"\x01" * 7  # the same size as one of the replacements
    upload_id = upload(service, blobs, data)
    blobs.key = jobs.get_upload(upload_id).key
    try:
        job = service.intake.create_job_from_upload(upload_id, ORIGIN, use_cache=False)
    except DomainError as refused:
        assert refused.code in ("INVALID_FILE_FORMAT", "UPLOAD_SIZE_MISMATCH")
        assert job_blobs(blobs) == []
        return
    stored = bytes(blobs.read_range(job.blueprint_s3_key, 0, 10**6))
    assert hashlib.sha256(stored).hexdigest() == job.blueprint_hash
    assert len(stored) == job.blueprint_size_bytes
    assert stored.startswith(b"\x89PNG")


def test_the_swap_happened() -> None:
    """The swapping store really swaps (so the property above is not vacuous)."""
    blobs = SwappingBlobStore("copy", SCRIPT)
    jobs = MemoryJobStore()
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    upload_id = upload(service, blobs, png())
    blobs.key = jobs.get_upload(upload_id).key
    with pytest.raises(DomainError):
        service.intake.create_job_from_upload(upload_id, ORIGIN)
    assert blobs.swapped


def test_an_upload_of_another_size_than_declared_is_refused() -> None:
    blobs = MemoryBlobStore(upload_secret=b"test-secret")
    jobs = MemoryJobStore()
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    session, _ = service.intake.open_upload(OWNER, "pdf", 70)
    big = pdf() + b"\x00" * 1_000_000
    blobs.put(session.key, [big], 10**8)  # a store that enforces no policy, as moto
    with pytest.raises(UploadSizeMismatch) as refused:
        service.intake.create_job_from_upload(session.upload_id, ORIGIN)
    assert refused.value.details == {"declared_bytes": 70, "uploaded_bytes": len(big)}
    assert job_blobs(blobs) == []
    with pytest.raises(UploadIncomplete):
        service.intake.create_job_from_upload(
            service.intake.open_upload(OWNER, "pdf", 70)[0].upload_id, ORIGIN
        )


@pytest.mark.parametrize("lands", [True, False])
@pytest.mark.parametrize("way", ["inline", "upload"])
def test_a_blob_is_kept_while_its_jobs_write_has_an_unknown_outcome(lands: bool, way: str) -> None:
    blobs = MemoryBlobStore(upload_secret=b"test-secret")
    jobs = UnknownOutcomeJobStore(lands=lands)
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    if way == "inline":
        with pytest.raises(ServiceUnavailable):
            service.intake.create_job([png()], ORIGIN)
    else:
        upload_id = upload(service, blobs, pdf(), "pdf")
        with pytest.raises(ServiceUnavailable):
            service.intake.create_job_from_upload(upload_id, ORIGIN)
    (attempted,) = jobs.attempted
    assert attempted.blueprint_s3_key in job_blobs(blobs)  # kept, landed or not: none can tell
    if lands:
        assert jobs.get(attempted.job_id) == attempted
    else:
        with pytest.raises(JobNotFound):
            jobs.get(attempted.job_id)
