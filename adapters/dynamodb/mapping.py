"""A job and its item, both ways, explicitly: ``Job`` never sees an item.

The same mapping reads the jobs the table's stream carries (``job_of_image``): a stream record's
images are items in DynamoDB's JSON, as the table stores them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from adapters.dynamodb.schema import JOB_KIND, JOB_SK, JobItem
from domain.blueprint import BlueprintFormat
from domain.job import Job, JobError, JobStatus
from domain.timestamps import format_timestamp, parse_timestamp

log = logging.getLogger(__name__)


def to_item(job: Job) -> JobItem:
    """The job's item, with a fresh ``write_token`` and the keys of the indexes it belongs in."""
    completed = job.status is JobStatus.COMPLETED
    return JobItem(
        write_token=secrets.token_hex(8),
        pk=job.job_id,
        sk=JOB_SK,
        owner=job.owner,
        owner_status=f"{job.owner}#{job.status.value}",
        status=job.status.value,
        created_at=format_timestamp(job.created_at),
        updated_at=format_timestamp(job.updated_at),
        blueprint_format=job.blueprint_format.value,
        blueprint_hash=job.blueprint_hash,
        completed_hash=f"{job.blueprint_hash}#{job.owner}" if completed else None,
        unfinished_status=None if job.done else job.status.value,
        blueprint_size_bytes=job.blueprint_size_bytes,
        blueprint_key=job.blueprint_s3_key,
        result_key=job.result_s3_key,
        error_code=job.error.code if job.error else None,
        error_message=job.error.message if job.error else None,
        request_id=job.request_id,
        correlation_id=job.correlation_id,
        api_version=job.api_version,
        cached_from=job.cached_from,
        version=job.version,
    )


def to_job(item: JobItem) -> Job:
    return Job(
        job_id=item.pk,
        owner=item.owner,
        status=JobStatus(item.status),
        created_at=parse_timestamp(item.created_at),
        updated_at=parse_timestamp(item.updated_at),
        blueprint_format=BlueprintFormat(item.blueprint_format),
        blueprint_hash=item.blueprint_hash,
        blueprint_size_bytes=int(item.blueprint_size_bytes),
        blueprint_s3_key=item.blueprint_key,
        result_s3_key=item.result_key,
        error=JobError(item.error_code, item.error_message) if item.error_code else None,
        request_id=item.request_id,
        correlation_id=item.correlation_id,
        api_version=item.api_version,
        version=int(item.version),
        cached_from=item.cached_from,
    )


def has_owner(item: JobItem) -> bool:
    """Jobs written before jobs had owners are nobody's: no caller may reach them, and the
    pipeline is never sent them."""
    return item.attribute_values.get("owner") is not None


def job_of_image(image: Mapping[str, Any] | None) -> Job | None:
    """The job a stream record's image (``NewImage`` or ``OldImage``, in DynamoDB's JSON) holds;
    None for no image, for an item of another kind (feedback, an upload session, a key, a
    counter...) and for a job that has no owner. An image of a job that does not read as one
    raises ``ValueError``: it is no job this service wrote."""
    if not image or image.get("sk") != {"S": JOB_SK} or image.get("kind") != {"S": JOB_KIND}:
        return None
    try:
        item = JobItem.from_raw_data(dict(image))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"a job image that does not read as a job: {error!r}") from None
    if not has_owner(item):
        log.warning("a change of a job without an owner was not sent", extra={"job_id": item.pk})
        return None
    try:
        return to_job(item)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"a job image that does not read as a job: {error!r}") from None
