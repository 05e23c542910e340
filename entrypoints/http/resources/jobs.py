"""Jobs: created from a blueprint, read, cancelled, and rated once finished."""

from __future__ import annotations

from collections.abc import Iterable

from domain.blueprint import (
    MAX_BLUEPRINT_BYTES,
    SUPPORTED_CONTENT_TYPES,
    BlueprintFormat,
    format_from_content_type,
)
from domain.job import Job
from domain.principals import JOBS_READ, JOBS_WRITE
from domain.use_cases import FeedbackDesk, Intake, Lifecycle, Origin
from entrypoints.http import bodies, pages
from entrypoints.http.exchange import EncodedViews, Exchange, etag
from entrypoints.http.messages import HttpRequest, HttpResponse
from entrypoints.http.representations import feedback
from entrypoints.http.resources.base import Dependencies
from entrypoints.http.routes import Answer, Operation, Route
from entrypoints.http.schema import ref
from entrypoints.logs import bind
from entrypoints.settings import JOBS_POLICY

_RAW = {"schema": {"type": "string", "format": "binary"}}
_JOB = ("ETag",)
_LIMITED = ("RateLimit-Policy", "RateLimit")


def _origin(exchange: Exchange) -> Origin:
    return Origin(exchange.owner, exchange.request_id, exchange.correlation_id, exchange.version)


class JobCollection:
    def __init__(self, intake: Intake, lifecycle: Lifecycle, views: EncodedViews) -> None:
        self._intake = intake
        self._lifecycle = lifecycle
        self._views = views

    @classmethod
    def build(cls, dependencies: Dependencies) -> JobCollection:
        use_cases = dependencies.use_cases
        return cls(use_cases.intake, use_cases.lifecycle, dependencies.views)

    def on_get(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        """The caller's jobs, newest first, a page at a time."""
        asked = pages.listing(request, exchange.owner)
        page = self._lifecycle.list_jobs(exchange.owner, asked.status, asked.limit, asked.after)
        token = (
            pages.page_token(exchange.owner, asked.status, page.jobs[-1].job_id)
            if page.more
            else None
        )
        encoded = [self._views(job, exchange.version) for job in page.jobs]
        return exchange.job_list(encoded, token)

    def on_post(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        media_type = bodies.media_type(request)
        use_cache = bodies.cache_allowed(request)
        declared: BlueprintFormat | None
        chunks: Iterable[bytes]
        if media_type == "application/json":
            payload = bodies.read_json(request, bodies.MAX_BASE64_JSON_BYTES, blueprint=True)
            if "upload_id" in payload:
                bodies.only_fields(payload, {"upload_id"})
                job = self._intake.create_job_from_upload(
                    payload["upload_id"], _origin(exchange), use_cache=use_cache
                )
                return self._created(job, exchange)
            chunks, declared = bodies.inline_blueprint(payload)
        else:
            # One of the declared raw types (the Api refuses others): it names the format, or
            # it is application/octet-stream and the signature decides.
            declared = format_from_content_type(media_type)
            bodies.refuse_declared_length(request, MAX_BLUEPRINT_BYTES, blueprint=True)
            chunks = bodies.body_chunks(request, MAX_BLUEPRINT_BYTES)
        job = self._intake.create_job(chunks, _origin(exchange), declared, use_cache=use_cache)
        return self._created(job, exchange)

    def _created(self, job: Job, exchange: Exchange) -> HttpResponse:
        bind(job_id=job.job_id)
        exchange.counts.job_created(cached=job.cached_from is not None)
        encoded = self._views(job, exchange.version)
        return exchange.job(201, job, encoded, created=True)


class JobItem:
    def __init__(self, lifecycle: Lifecycle, views: EncodedViews) -> None:
        self._lifecycle = lifecycle
        self._views = views

    @classmethod
    def build(cls, dependencies: Dependencies) -> JobItem:
        return cls(dependencies.use_cases.lifecycle, dependencies.views)

    def on_get(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        job = self._lifecycle.get_job(exchange.owner, exchange.job_id)
        if bodies.none_match(request, job):
            return HttpResponse(304, [("ETag", etag(job)), ("Cache-Control", "no-cache")])
        encoded = self._views(job, exchange.version)
        return exchange.job(200, job, encoded, revalidated=True)

    def on_delete(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        expected = bodies.expected_version(request)
        job = self._lifecycle.cancel_job(exchange.owner, exchange.job_id, expected)
        return exchange.job(200, job, self._views(job, exchange.version))


class JobResult:
    """A completed job's result: the pipeline's JSON document itself (docs/API.md)."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle

    @classmethod
    def build(cls, dependencies: Dependencies) -> JobResult:
        return cls(dependencies.use_cases.lifecycle)

    def on_get(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        job, result = self._lifecycle.get_result(exchange.owner, exchange.job_id)
        return exchange.success(
            200, {"job_id": job.job_id, "result_key": job.result_s3_key, "result": result}
        )


class JobFeedback:
    def __init__(self, desk: FeedbackDesk) -> None:
        self._desk = desk

    @classmethod
    def build(cls, dependencies: Dependencies) -> JobFeedback:
        return cls(dependencies.use_cases.feedback)

    def on_post(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        payload = bodies.read_json(request, bodies.MAX_SMALL_JSON_BYTES)
        bodies.only_fields(payload, {"rating", "comment"})
        bodies.require_fields(payload, "rating")
        expected = bodies.expected_version(request)
        entry = self._desk.add_feedback(
            exchange.owner, exchange.job_id, payload["rating"], payload.get("comment"), expected
        )
        return exchange.success(201, feedback(entry))


ROUTES = (
    Route(
        "/api/{v}/jobs",
        JobCollection,
        {
            "GET": Operation(
                "listJobs",
                "List the caller's jobs, newest first.",
                {200: Answer("A page of jobs.", "JobListEnvelope")},
                errors=(400, 503),
                query=("status", "limit", "page_token"),
                scope=JOBS_READ,
            ),
            "POST": Operation(
                "createJob",
                "Create a job from a blueprint (PNG, JPEG or PDF, at most 50 MiB).",
                {
                    201: Answer(
                        "Created.",
                        "JobEnvelope",
                        (*_JOB, "Location", "Idempotent-Replayed", *_LIMITED),
                    )
                },
                errors=(400, 409, 413, 415, 422, 429, 503),
                query=("fresh",),
                # application/octet-stream first: the file's signature decides the format, and
                # generated clients can send bytes under it (they know no image/* body).
                body={
                    **dict.fromkeys((bodies.RAW_BYTES, *SUPPORTED_CONTENT_TYPES), _RAW),
                    "application/json": {"schema": ref("InlineBlueprint")},
                },
                idempotency_scope="jobs",
                scope=JOBS_WRITE,
                quota=JOBS_POLICY,
            ),
        },
    ),
    Route(
        "/api/{v}/jobs/{job_id}",
        JobItem,
        {
            "GET": Operation(
                "getJob",
                "Read one job.",
                {
                    200: Answer("The job.", "JobEnvelope", _JOB),
                    304: Answer("Not modified.", None, _JOB),
                },
                errors=(400, 503),
                reads=("If-None-Match",),
            ),
            "DELETE": Operation(
                "cancelJob",
                "Cancel a pending or processing job (idempotent).",
                {200: Answer("The cancelled job.", "JobEnvelope", _JOB)},
                errors=(400, 409, 412, 503),
                reads=("If-Match",),
                scope=JOBS_WRITE,
            ),
        },
    ),
    Route(
        "/api/{v}/jobs/{job_id}/result",
        JobResult,
        {
            "GET": Operation(
                "getJobResult",
                "Read a completed job's result (the detection's JSON document).",
                {200: Answer("The result.", "ResultEnvelope")},
                errors=(400, 409, 503),
                scope=JOBS_READ,
            )
        },
    ),
    Route(
        "/api/{v}/jobs/{job_id}/feedback",
        JobFeedback,
        {
            "POST": Operation(
                "addFeedback",
                "Rate a completed or failed job.",
                {201: Answer("Recorded.", "FeedbackEnvelope")},
                errors=(400, 409, 412, 413, 415, 503),
                reads=("If-Match",),
                body={"application/json": {"schema": ref("FeedbackRequest")}},
                scope=JOBS_WRITE,
            )
        },
    ),
)
