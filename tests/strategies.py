"""Every hypothesis strategy of the suite, in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from domain.blueprint import MAX_BLUEPRINT_BYTES, BlueprintFormat
from domain.job import Job, JobError, JobStatus
from entrypoints.http import request_ids

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"

moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=d.microsecond - d.microsecond % 1000))

job_ids = st.text(_CROCKFORD, min_size=26, max_size=26).map(lambda s: "job_" + s)
request_ids = st.builds(request_ids.new_request_id, moments, st.binary(min_size=12, max_size=12))
correlation_ids = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-",
    min_size=1,
    max_size=128,
)
sha256s = st.text("0123456789abcdef", min_size=64, max_size=64)
keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80)
error_codes = st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True)
job_errors = st.builds(JobError, error_codes, st.text(min_size=1, max_size=200))


owners = st.from_regex(r"[\x21-\x7e]{1,128}", fullmatch=True)


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    status = draw(st.sampled_from(JobStatus))
    created = draw(moments)
    updated = created + timedelta(milliseconds=draw(st.integers(0, 10**9)))
    result = draw(keys) if status is JobStatus.COMPLETED else None
    error = draw(job_errors) if status in (JobStatus.FAILED, JobStatus.CANCELLED) else None
    return Job(
        job_id=draw(job_ids),
        owner=draw(owners),
        status=status,
        created_at=created,
        updated_at=updated,
        blueprint_format=draw(st.sampled_from(BlueprintFormat)),
        blueprint_hash=draw(sha256s),
        blueprint_size_bytes=draw(st.integers(1, MAX_BLUEPRINT_BYTES)),
        blueprint_s3_key=draw(keys),
        result_s3_key=result,
        error=error,
        request_id=draw(request_ids),
        correlation_id=draw(correlation_ids),
        api_version=draw(st.sampled_from(["v1", "v2"])),
        version=draw(st.integers(1, 10**6)),
    )


chunk_sizes = st.integers(min_value=1, max_value=4096)
