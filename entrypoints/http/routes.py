"""The route table and the path matcher, shared by dispatch, CORS and the OpenAPI document."""

from __future__ import annotations

import re

from attrs import frozen

from entrypoints.http.errors import RouteNotFound, UnsupportedApiVersion

SUPPORTED_VERSIONS = ("v1", "v2")
DEFAULT_VERSION = "v1"
_VERSION_SEGMENT = re.compile(r"v\d+")


@frozen
class Route:
    name: str
    template: str  # as in the OpenAPI document, "{v}" standing for the version
    methods: tuple[str, ...]

    @property
    def allow(self) -> str:
        return ", ".join((*self.methods, "OPTIONS"))


HEALTH = Route("health", "/health", ("GET",))
READY = Route("ready", "/health/ready", ("GET",))
JOBS = Route("jobs", "/api/{v}/jobs", ("POST",))
JOB = Route("job", "/api/{v}/jobs/{job_id}", ("GET", "DELETE"))
FEEDBACK = Route("feedback", "/api/{v}/jobs/{job_id}/feedback", ("POST",))
UPLOADS = Route("uploads", "/api/{v}/uploads", ("POST",))
OPENAPI = Route("openapi", "/api/{v}/openapi.json", ("GET",))
ROUTES = (HEALTH, READY, JOBS, JOB, FEEDBACK, UPLOADS, OPENAPI)
# Where the local server receives upload forms (S3's part on AWS): not a versioned API route.
LOCAL_UPLOADS = Route("local_uploads", "/local-uploads", ("POST",))


@frozen
class Match:
    route: Route
    version: str
    job_id: str | None = None


def match(path: str) -> Match:
    """Find the route for ``path``; a trailing slash is tolerated."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if path == "/health":
        return Match(HEALTH, DEFAULT_VERSION)
    if path == "/health/ready":
        return Match(READY, DEFAULT_VERSION)
    if path == LOCAL_UPLOADS.template:
        return Match(LOCAL_UPLOADS, DEFAULT_VERSION)
    segments = path.split("/")[1:]
    if not segments or segments[0] != "api":
        raise RouteNotFound("No resource at this path.", path=path)
    rest = segments[1:]
    version = DEFAULT_VERSION
    if rest and _VERSION_SEGMENT.fullmatch(rest[0]):
        version, rest = rest[0], rest[1:]
        if version not in SUPPORTED_VERSIONS:
            raise UnsupportedApiVersion(
                f"API version {version} is not supported.",
                supported_versions=list(SUPPORTED_VERSIONS),
            )
    match rest:
        case ["jobs"]:
            return Match(JOBS, version)
        case ["jobs", job_id] if job_id:
            return Match(JOB, version, job_id)
        case ["jobs", job_id, "feedback"] if job_id:
            return Match(FEEDBACK, version, job_id)
        case ["uploads"]:
            return Match(UPLOADS, version)
        case ["openapi.json"]:
            return Match(OPENAPI, version)
    raise RouteNotFound("No resource at this path.", path=path)
