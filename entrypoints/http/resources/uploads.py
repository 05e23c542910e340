"""Upload sessions for blueprints too large for a request, and the local server's stand-in
for S3's form upload."""

from __future__ import annotations

from urllib.parse import urljoin

from domain.blueprint import MAX_BLUEPRINT_BYTES
from domain.principals import JOBS_WRITE
from domain.use_cases import Intake
from entrypoints import metrics
from entrypoints.http import bodies
from entrypoints.http.exchange import Exchange
from entrypoints.http.messages import HttpRequest, HttpResponse
from entrypoints.http.multipart import FormReader, boundary_of
from entrypoints.http.representations import upload_session
from entrypoints.http.resources.base import Dependencies
from entrypoints.http.routes import PUBLIC, Answer, Operation, Route
from entrypoints.http.schema import ref
from entrypoints.settings import UPLOADS_POLICY

# The form's own fields and part headers add a few KB to the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadCollection:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    @classmethod
    def build(cls, dependencies: Dependencies) -> UploadCollection:
        return cls(dependencies.use_cases.intake)

    def on_post(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        payload = bodies.read_json(request, bodies.MAX_SMALL_JSON_BYTES)
        bodies.only_fields(payload, {"format", "size_bytes"})
        bodies.require_fields(payload, "format", "size_bytes")
        session, form = self._intake.open_upload(
            exchange.owner, payload["format"], payload["size_bytes"]
        )
        exchange.counts.add(metrics.UPLOADS_OPENED)
        url = urljoin(bodies.base_url(request), form.url)
        return exchange.success(201, upload_session(session, url, form.fields))


class LocalUploads:
    """The local stand-in for S3's form upload: 204 with no body, as S3 answers. Routed only
    where the service receives uploads itself (in-memory storage)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    @classmethod
    def build(cls, dependencies: Dependencies) -> LocalUploads:
        return cls(dependencies.use_cases.intake)

    def on_post(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        limit = MAX_BLUEPRINT_BYTES + FORM_OVERHEAD_BYTES
        bodies.refuse_declared_length(request, limit, blueprint=True)
        reader = FormReader(request.body, boundary_of(request.header("content-type") or ""))
        fields = reader.read_fields()
        self._intake.receive_upload(fields, reader.file_chunks())
        return HttpResponse(204, [("Cache-Control", "no-store")])


ROUTES = (
    Route(
        "/api/{v}/uploads",
        UploadCollection,
        {
            "POST": Operation(
                "openUpload",
                "Open an upload session: a form with which to send a blueprint of up to 50 MiB "
                "straight to storage, then create the job with its `upload_id`.",
                {
                    201: Answer(
                        "Opened.",
                        "UploadEnvelope",
                        ("Idempotent-Replayed", "RateLimit-Policy", "RateLimit"),
                    )
                },
                errors=(400, 409, 413, 415, 422, 429, 503),
                body={"application/json": {"schema": ref("UploadRequest")}},
                idempotency_scope="uploads",
                scope=JOBS_WRITE,
                quota=UPLOADS_POLICY,
            )
        },
    ),
)
# Where the local server receives upload forms (S3's part on AWS): not a versioned API route,
# and not in the OpenAPI documents.
LOCAL_UPLOADS = Route(
    "/local-uploads",
    LocalUploads,
    {
        "POST": Operation(
            "receiveUpload",
            "Receive an upload form (local storage only).",
            {204: Answer("Stored.")},
            # Read as S3 reads a form (a body that is not one is a 400, as there), so no media
            # type is declared for the Api to enforce.
            reads=("Content-Type",),
            # Authorized by the form's signature, as S3 authorizes a presigned POST; the
            # session it belongs to carries the owner.
            scope=PUBLIC,
        )
    },
    documented=False,
)
