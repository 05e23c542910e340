"""template.yaml's browser API: a second HTTP API, only with JwtIssuer and JwtAudience, whose
catch-all route has API Gateway's JWT authorizer and whose public routes (those the
application serves to anyone, and CORS preflights) have none. HttpApi stays as it was."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from entrypoints.http.resources import LOCAL_UPLOADS, ROUTES
from entrypoints.http.routes import PUBLIC
from tests.helpers import read_template

ROUTE = "AWS::ApiGatewayV2::Route"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read_template()


def _browser(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if name.startswith("BrowserApi")}


def _routes(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in _browser(template).values()
        if r["Type"] == ROUTE
    }


def _evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """The value of a condition (or rule assertion) for these parameter values."""
    if not isinstance(expression, dict):
        return expression
    [(function, argument)] = expression.items()
    if function == "Ref":
        return parameters[argument]
    values = [_evaluate(a, parameters) for a in argument]
    if function == "Fn::Equals":
        return values[0] == values[1]
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    raise AssertionError(f"unexpected {function}")


ISSUER = "https://issuer.example.com"


@pytest.mark.parametrize(
    ("issuer", "audience", "created", "allowed"),
    [
        ("", "", False, True),
        (ISSUER, "web", True, True),
        (ISSUER, "", False, False),
        ("", "web", False, False),
    ],
)
def test_the_browser_api_exists_only_with_an_issuer_and_an_audience(
    template: dict[str, Any], issuer: str, audience: str, created: bool, allowed: bool
) -> None:
    parameters = {"JwtIssuer": issuer, "JwtAudience": audience}
    assert template["Parameters"]["JwtIssuer"]["Default"] == ""
    assert template["Parameters"]["JwtAudience"]["Default"] == ""
    assert _evaluate(template["Conditions"]["HasBrowserApi"], parameters) is created
    [assertion] = template["Rules"]["JwtIssuerAndAudienceTogether"]["Assertions"]
    assert _evaluate(assertion["Assert"], parameters) is allowed


def test_every_browser_api_resource_and_its_output_are_conditional(
    template: dict[str, Any],
) -> None:
    resources = _browser(template)
    assert {r["Type"] for r in resources.values()} == {
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::Integration",
        ROUTE,
        "AWS::ApiGatewayV2::Stage",
        "AWS::Logs::LogGroup",
        "AWS::Lambda::Permission",
    }
    assert all(r.get("Condition") == "HasBrowserApi" for r in resources.values())
    assert template["Outputs"]["BrowserApiUrl"]["Condition"] == "HasBrowserApi"
    unconditional = {name for name, r in template["Resources"].items() if "Condition" not in r}
    assert not unconditional & set(resources)


def test_the_catch_all_route_has_the_jwt_authorizer(template: dict[str, Any]) -> None:
    route = _routes(template)["$default"]
    assert route["AuthorizationType"] == "JWT"
    assert route["AuthorizerId"] == {"Ref": "BrowserApiAuthorizer"}
    authorizer = template["Resources"]["BrowserApiAuthorizer"]["Properties"]
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["ApiId"] == {"Ref": "BrowserApi"}
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    assert authorizer["JwtConfiguration"] == {
        "Issuer": {"Ref": "JwtIssuer"},
        "Audience": [{"Ref": "JwtAudience"}],
    }


def _public_route_keys() -> set[str]:
    """The route keys of what the application serves without credentials, as API Gateway
    spells them; a versioned path also answers without its version (the default one)."""
    keys = set()
    for route in ROUTES:
        if route is LOCAL_UPLOADS:  # the local server's, never on AWS
            continue
        for method, operation in route.operations.items():
            if operation.scope is PUBLIC:
                keys.add(f"{method} {route.template.replace('{v}', '{version}')}")
                if "{v}" in route.template:
                    keys.add(f"{method} {route.template.replace('/{v}', '')}")
    return keys


def test_public_operations_and_preflights_reach_the_function_without_a_jwt(
    template: dict[str, Any],
) -> None:
    routes = _routes(template)
    public = {key for key, route in routes.items() if route["AuthorizationType"] == "NONE"}
    assert public == _public_route_keys() | {"OPTIONS /{proxy+}"}
    assert {"GET /health", "GET /health/ready", "GET /api/{version}/openapi.json"} <= public
    assert set(routes) == public | {"$default"}
    assert not any("AuthorizerId" in routes[key] for key in public)


def test_every_route_goes_to_the_function_in_payload_format_2(template: dict[str, Any]) -> None:
    for route in _routes(template).values():
        assert route["ApiId"] == {"Ref": "BrowserApi"}
        assert route["Target"] == {"Fn::Sub": "integrations/${BrowserApiIntegration}"}
    integration = template["Resources"]["BrowserApiIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["ApiFunction", "Arn"]}
    assert integration["PayloadFormatVersion"] == "2.0"
    permission = template["Resources"]["BrowserApiPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "ApiFunction"}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert "${BrowserApi}/" in permission["SourceArn"]["Fn::Sub"]


def test_the_browser_api_is_throttled_and_logged_as_the_api_key_api(
    template: dict[str, Any],
) -> None:
    http_api = template["Resources"]["HttpApi"]["Properties"]
    stage = template["Resources"]["BrowserApiStage"]["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == http_api["DefaultRouteSettings"]
    logged = stage["AccessLogSettings"]["Format"]
    assert logged.startswith(http_api["AccessLogSettings"]["Format"].removesuffix("}"))
    assert '"authorizerError":"$context.authorizer.error"' in logged
    assert json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", logged))  # one JSON object
    assert stage["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": ["BrowserApiAccessLogs", "Arn"]
    }


def test_the_api_key_api_stays_without_an_authorizer(template: dict[str, Any]) -> None:
    """API-key clients keep HttpApi: no authorizer there, the application checks keys."""
    assert "Auth" not in template["Resources"]["HttpApi"]["Properties"]
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
    assert events == {
        "Everything": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "HttpApi"}}}
    }
