"""How a Job looks on the wire in each API version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.feedback import Feedback
from domain.job import Job
from domain.records import feedback_to_dict, job_to_dict
from domain.timestamps import format_timestamp


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
