"""The resources, by concern, as Falcon's own examples group them: health, jobs, uploads and
the API's documents. Each module declares its routes beside the resource that serves them;
``ROUTES`` is every route, in matching order."""

from __future__ import annotations

from entrypoints.http.resources.base import Dependencies
from entrypoints.http.resources.documents import ROUTES as DOCUMENT_ROUTES
from entrypoints.http.resources.health import ROUTES as HEALTH_ROUTES
from entrypoints.http.resources.jobs import ROUTES as JOB_ROUTES
from entrypoints.http.resources.uploads import LOCAL_UPLOADS
from entrypoints.http.resources.uploads import ROUTES as UPLOAD_ROUTES
from entrypoints.http.routes import Route

ROUTES: tuple[Route, ...] = (
    *HEALTH_ROUTES,
    *JOB_ROUTES,
    *UPLOAD_ROUTES,
    *DOCUMENT_ROUTES,
    LOCAL_UPLOADS,
)
# The versioned API's routes: what the OpenAPI documents describe.
API_ROUTES = tuple(route for route in ROUTES if route.documented)

__all__ = ["API_ROUTES", "LOCAL_UPLOADS", "ROUTES", "Dependencies"]
