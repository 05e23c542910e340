"""How a Job looks on the wire in each API version (v1 is the flat dict, lossless both ways)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.blueprint import BlueprintFormat
from domain.feedback import Feedback
from domain.job import Job, JobError, JobStatus
from domain.timestamps import format_timestamp, parse_timestamp


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "created_at": format_timestamp(job.created_at),
        "updated_at": format_timestamp(job.updated_at),
        "blueprint_format": job.blueprint_format.value,
        "blueprint_hash": job.blueprint_hash,
        "blueprint_size_bytes": job.blueprint_size_bytes,
        "blueprint_s3_key": job.blueprint_s3_key,
        "result_s3_key": job.result_s3_key,
        "error": None
        if job.error is None
        else {
            "code": job.error.code,
            "message": job.error.message,
        },
        "request_id": job.request_id,
        "correlation_id": job.correlation_id,
        "api_version": job.api_version,
        "version": job.version,
        "cached_from": job.cached_from,
    }


def job_from_dict(data: dict[str, Any]) -> Job:
    error = data["error"]
    return Job(
        job_id=data["job_id"],
        status=JobStatus(data["status"]),
        created_at=parse_timestamp(data["created_at"]),
        updated_at=parse_timestamp(data["updated_at"]),
        blueprint_format=BlueprintFormat(data["blueprint_format"]),
        blueprint_hash=data["blueprint_hash"],
        blueprint_size_bytes=data["blueprint_size_bytes"],
        blueprint_s3_key=data["blueprint_s3_key"],
        result_s3_key=data["result_s3_key"],
        error=None if error is None else JobError(error["code"], error["message"]),
        request_id=data["request_id"],
        correlation_id=data["correlation_id"],
        api_version=data["api_version"],
        version=data["version"],
        cached_from=data["cached_from"],
    )


def feedback_to_dict(feedback: Feedback) -> dict[str, Any]:
    return {
        "feedback_id": feedback.feedback_id,
        "job_id": feedback.job_id,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "created_at": format_timestamp(feedback.created_at),
    }


def job_v1(job: Job) -> dict[str, Any]:
    return job_to_dict(job)


def job_v2(job: Job) -> dict[str, Any]:
    base = f"/api/v2/jobs/{job.job_id}"
    return {
        "id": job.job_id,
        "status": job.status.value,
        "done": job.done,
        "version": job.version,
        "created_at": format_timestamp(job.created_at),
        "updated_at": format_timestamp(job.updated_at),
        "blueprint": {
            "format": job.blueprint_format.value,
            "sha256": job.blueprint_hash,
            "size_bytes": job.blueprint_size_bytes,
        },
        "result": None if job.result_s3_key is None else {"s3_key": job.result_s3_key},
        "error": None
        if job.error is None
        else {
            "code": job.error.code,
            "message": job.error.message,
        },
        "trace": {"request_id": job.request_id, "correlation_id": job.correlation_id},
        "api_version": job.api_version,
        "cached_from": job.cached_from,
        "links": {"self": base, "feedback": f"{base}/feedback"},
    }


JOB_REPRESENTATIONS: dict[str, Callable[[Job], dict[str, Any]]] = {"v1": job_v1, "v2": job_v2}


def feedback(entry: Feedback) -> dict[str, Any]:
    return feedback_to_dict(entry)
