"""template.yaml and what the code builds or reads agree: the table ``init-storage`` creates,
and the CORS origins the bucket and the application read from one parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.aws import init_storage
from entrypoints.settings import Settings
from tests.aws import REGION, moto_in_process
from tests.helpers import read_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read_template()


@pytest.fixture
def created_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The table as ``blueprint-jobs init-storage`` leaves it, described by DynamoDB."""
    with moto_in_process(monkeypatch):
        settings = Settings(storage="aws", region=REGION, table="t", bucket="init-storage-bucket")
        init_storage(settings)
        init_storage(settings)  # idempotent, TTL included
        client = boto3.client("dynamodb", region_name=REGION)
        table = client.describe_table(TableName="t")["Table"]
        table["TimeToLive"] = client.describe_time_to_live(TableName="t")["TimeToLiveDescription"]
        yield table


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def test_init_storage_creates_the_templates_table(
    template: dict[str, Any], created_table: dict[str, Any]
) -> None:
    declared = template["Resources"]["JobsTable"]["Properties"]
    table = created_table
    assert _keys(table["KeySchema"]) == _keys(declared["KeySchema"])
    assert sorted(
        (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
    ) == sorted((a["AttributeName"], a["AttributeType"]) for a in declared["AttributeDefinitions"])
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    indexes = {
        index["IndexName"]: (
            _keys(index["KeySchema"]),
            index["Projection"]["ProjectionType"],
        )
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        index["IndexName"]: (_keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
        for index in declared["GlobalSecondaryIndexes"]
    }
    assert "LocalSecondaryIndexes" not in declared and not table.get("LocalSecondaryIndexes")
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": declared["StreamSpecification"]["StreamViewType"],
    }
    ttl = declared["TimeToLiveSpecification"]
    assert table["TimeToLive"]["TimeToLiveStatus"] == "ENABLED"
    assert table["TimeToLive"]["AttributeName"] == ttl["AttributeName"]


# -- CorsOrigins: one value, two readers ---------------------------------------------------

ORIGIN_PART = st.one_of(
    st.just("*"),
    st.builds(
        lambda scheme, host, port, slash: f"{scheme}://{host}{port}{slash}",
        st.sampled_from(["http", "https", "ftp", ""]),
        st.from_regex(r"[a-z0-9.-]{1,12}", fullmatch=True),
        st.sampled_from(["", ":3000", ":99999", ":"]),
        st.sampled_from(["", "/", "/app"]),
    ),
)
PARAMETER_VALUES = st.lists(
    st.tuples(ORIGIN_PART, st.sampled_from(["", " ", "  "]), st.sampled_from(["", " "])),
    max_size=4,
).map(lambda parts: ",".join(f"{before}{origin}{after}" for origin, before, after in parts))


def _pattern(template: dict[str, Any]) -> re.Pattern[str]:
    return re.compile(template["Parameters"]["CorsOrigins"]["AllowedPattern"])


def _application_reading(value: str) -> tuple[str, ...]:
    env = {"BLUEPRINT_JOBS_CORS_ORIGINS": value}
    return Settings.from_env(env, profile="lambda").cors_origins


def _bucket_reading(value: str) -> tuple[str, ...]:
    """``CorsConfiguration`` gets ``!Split [",", CorsOrigins]`` when the value is not empty."""
    return tuple(value.split(",")) if value else ()


@given(PARAMETER_VALUES)
def test_every_accepted_cors_value_is_read_alike_by_the_bucket_and_the_application(
    value: str,
) -> None:
    if _pattern(read_template()).fullmatch(value):
        assert _bucket_reading(value) == _application_reading(value)


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost:3000, http://localhost:5173",
        "https://app.example.com/",
        " https://app.example.com",
        "https://a.example.com,,https://b.example.com",
        "https://a.example.com,",
    ],
)
def test_values_the_two_would_read_differently_are_refused(
    template: dict[str, Any], value: str
) -> None:
    assert _bucket_reading(value) != _application_reading(value)
    assert not _pattern(template).fullmatch(value)


@pytest.mark.parametrize(
    "value", ["", "*", "https://app.example.com", "http://localhost:3000,http://localhost:5173"]
)
def test_ordinary_values_are_accepted(template: dict[str, Any], value: str) -> None:
    assert _pattern(template).fullmatch(value)
    assert _bucket_reading(value) == _application_reading(value)


def test_the_template_declares_the_cors_rule_from_the_parameter(template: dict[str, Any]) -> None:
    cors = template["Resources"]["BlueprintsBucket"]["Properties"]["CorsConfiguration"]
    rule = cors["Fn::If"][1]["CorsRules"][0]
    assert rule["AllowedOrigins"] == {"Fn::Split": [",", {"Ref": "CorsOrigins"}]}
    env = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["BLUEPRINT_JOBS_CORS_ORIGINS"] == {"Ref": "CorsOrigins"}


def test_the_template_limits_unfinished_jobs_per_owner(template: dict[str, Any]) -> None:
    """The template's default (100) reaches the function's settings; 0 means no limit."""
    parameter = template["Parameters"]["MaxUnfinishedJobs"]
    env = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["BLUEPRINT_JOBS_MAX_UNFINISHED_JOBS"] == {"Ref": "MaxUnfinishedJobs"}
    variable = "BLUEPRINT_JOBS_MAX_UNFINISHED_JOBS"
    deployed = Settings.from_env({variable: str(parameter["Default"])}, profile="lambda")
    assert deployed.max_unfinished_jobs == 100
    assert Settings.from_env({variable: "0"}, profile="lambda").max_unfinished_jobs is None
