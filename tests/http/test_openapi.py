"""The OpenAPI documents are valid, describe the routes that exist, and hold under fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from adapters.memory import MemoryBlobStore, MemoryJobStore
from entrypoints.falcon_app import create_app
from entrypoints.http import openapi
from entrypoints.http.errors import CLIENT_CODES
from entrypoints.http.resources import API_ROUTES
from entrypoints.http.routes import COMMON_REQUEST_HEADERS, SUPPORTED_VERSIONS
from tests.blueprints import SAMPLES
from tests.fakes import SeededEntropy, SteppingClock
from tests.helpers import SETTINGS, use_cases_over
from tests.http.clients import api_key, make_api


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_documents_are_valid_openapi_3_1(version: str) -> None:
    validate(openapi.document(version))


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_documents_describe_exactly_the_routes(version: str) -> None:
    paths = openapi.document(version)["paths"]
    expected = {
        route.template.replace("{v}", version): {m.lower() for m in route.operations}
        for route in API_ROUTES
    }
    documented = {
        path: {key for key in item if key in ("get", "post", "delete", "put", "patch")}
        for path, item in paths.items()
    }
    assert documented == expected


def test_every_error_code_is_documented() -> None:
    schema = openapi.document("v1")["components"]["schemas"]["Error"]
    code = schema["properties"]["error"]["properties"]["code"]
    assert "enum" not in code  # open: a code added later must not break an older client
    assert set(code["examples"]) == set(CLIENT_CODES)
    assert "INTERNAL_ERROR" in CLIENT_CODES
    assert "BLOB_NOT_FOUND" not in CLIENT_CODES  # a fault of ours, answered as INTERNAL_ERROR


def _app() -> Any:
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy())
    KEYS.append(api_key(service))
    return create_app(make_api(service, SETTINGS))


# The key every fuzzed request is sent with, so that each reaches its operation (without one,
# every secured route would answer 401 whatever the request).
KEYS: list[str] = []


def _authenticated(case: schemathesis.Case) -> dict[str, Any]:
    """The case as a client with a key sends it: the credentials generated from the security
    schemes are dropped, and the key is given as the call's own header, so that schemathesis
    knows it for a valid credential and checks that the operation refuses the request
    without it, or with another (its ``ignored_auth`` check)."""
    case.headers = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in ("authorization", "x-api-key")
    }
    # A page token is opaque: only one the service gave is valid, and any other is refused
    # (400 INVALID_PAGE_TOKEN, tests/http/test_listing.py). A made-up one is not valid data.
    if case.query:
        case.query.pop("page_token", None)
    return {"headers": {"Authorization": f"Bearer {KEYS[-1]}"}}


def _blueprints(fmt: str) -> st.SearchStrategy[bytes]:
    """Schema-valid raw bodies are real blueprints: the signature, then anything."""
    signatures = {
        "image/png": [SAMPLES_BY_TYPE["png"]],
        "image/jpeg": [SAMPLES_BY_TYPE["jpg"]],
        "application/pdf": [SAMPLES_BY_TYPE["pdf"]],
        "application/octet-stream": list(SAMPLES_BY_TYPE.values()),
    }[fmt]
    return st.tuples(st.sampled_from(signatures), st.binary(max_size=256)).map(b"".join)


SAMPLES_BY_TYPE = {fmt.value: data for fmt, data in SAMPLES.items()}
for _media in ("image/png", "image/jpeg", "application/pdf", "application/octet-stream"):
    schemathesis.openapi.media_type(_media, _blueprints(_media))

# Every check schemathesis has; schemathesis.toml records the statuses it is told to expect.
ALL_CHECKS = list(schemathesis.checks.CHECKS.get_all())
SCHEMAS = {
    version: schemathesis.openapi.from_wsgi(f"/api/{version}/openapi.json", _app())
    for version in SUPPORTED_VERSIONS
}


@SCHEMAS["v1"].parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_v1_conforms_under_fuzzing(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=ALL_CHECKS, **_authenticated(case))


@SCHEMAS["v2"].parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_v2_conforms_under_fuzzing(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=ALL_CHECKS, **_authenticated(case))


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_documented_headers_are_those_each_route_declares(version: str) -> None:
    """CORS allows what the routes declare; the documents may not promise other headers."""
    paths = openapi.document(version)["paths"]
    for route in API_ROUTES:
        item = paths[route.template.replace("{v}", version)]
        for method in route.operations:
            operation = item[method.lower()]
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            documented = {p["name"] for p in params if p["in"] == "header"}
            if "requestBody" in operation:
                documented.add("Content-Type")
            declared = set(route.request_headers(method))
            assert documented <= declared, (route.template, method)
            # Credentials and the trace id are read everywhere; the rest must be documented.
            assert declared - documented <= set(COMMON_REQUEST_HEADERS), (route.template, method)


# The stateful phase: schemathesis chains operations through the links it finds and infers
# (a created job's id into GET, DELETE and feedback) and checks every answer on the way.
class StatefulV1(SCHEMAS["v1"].as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {**super().get_call_kwargs(case), **_authenticated(case)}

    def validate_response(
        self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        # The key was the call's own header: say so, as call_and_validate does, so that the
        # checks know it for the client's valid credential, not one generated from the schema.
        case.validate_response(
            response,
            additional_checks=additional_checks,
            headers=kwargs.get("headers"),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


TestStatefulV1 = StatefulV1.TestCase
TestStatefulV1.settings = settings(
    max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), stateful_step_count=6
)
