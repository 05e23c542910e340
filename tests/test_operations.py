"""What operations see, as template.yaml declares it: the alarms, what they notify, the API's
access log, and the dimension of the function's own metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers import read_template

TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read_template()


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_every_alarm_notifies_the_topic_both_ways_and_ignores_silence(
    template: dict[str, Any],
) -> None:
    found = alarms(template)
    assert len(found) == 13
    for name, alarm in found.items():
        assert alarm["AlarmActions"] == TOPIC, name
        assert alarm["OKActions"] == TOPIC, name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmDescription"], name
    assert template["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_the_function_and_the_api_are_watched(template: dict[str, Any]) -> None:
    by_metric = {
        alarm["MetricName"]: alarm
        for alarm in alarms(template).values()
        if "MetricName" in alarm and "SweeperFunction" not in json.dumps(alarm["Dimensions"])
    }
    function = [{"Name": "FunctionName", "Value": {"Ref": "ApiFunction"}}]
    for name in ("Errors", "Throttles", "Duration"):
        assert by_metric[name]["Namespace"] == "AWS/Lambda"
        assert by_metric[name]["Dimensions"] == function
    assert by_metric["5xx"]["Namespace"] == "AWS/ApiGateway"
    assert by_metric["5xx"]["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]


def test_the_duration_alarm_fires_before_the_timeout(template: dict[str, Any]) -> None:
    timeout_ms = template["Resources"]["ApiFunction"]["Properties"]["Timeout"] * 1000
    (duration,) = [a for a in alarms(template).values() if a.get("MetricName") == "Duration"]
    assert duration["ExtendedStatistic"] == "p99"
    assert 0.8 * timeout_ms <= duration["Threshold"] < timeout_ms


@pytest.mark.parametrize("metric", ["ThrottledRequests", "SystemErrors"])
def test_the_table_is_watched_over_every_operation(template: dict[str, Any], metric: str) -> None:
    queries = [
        query
        for alarm in alarms(template).values()
        for query in alarm.get("Metrics", [])
        if metric in json.dumps(query["Expression"])
    ]
    (query,) = queries
    text = query["Expression"]["Fn::Sub"]
    assert re.fullmatch(
        rf'SELECT SUM\({metric}\) FROM SCHEMA\("AWS/DynamoDB", Operation, TableName\)\s+'
        r"WHERE TableName = '\$\{JobsTable\}'",
        text.strip(),
    )
    assert template["Resources"]["JobsTable"]["Type"] == "AWS::DynamoDB::Table"
    assert query["ReturnData"] is True
    assert query["Period"] == 300


def test_the_access_log_is_one_json_object_with_what_operations_need(
    template: dict[str, Any],
) -> None:
    settings = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    line = re.sub(r"\$context\.[A-Za-z.]+", "x", settings["Format"])
    fields = json.loads(line)
    variables = dict(re.findall(r'"(\w+)":"(\$context\.[A-Za-z.]+)"', settings["Format"]))
    assert set(fields) == set(variables)
    assert {
        "integrationStatus": "$context.integrationStatus",
        "integrationError": "$context.integrationErrorMessage",
        "latency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "routeKey": "$context.routeKey",
        "userAgent": "$context.identity.userAgent",
        "status": "$context.status",
        "requestId": "$context.requestId",
        "integrationRequestId": "$context.integration.requestId",
    }.items() <= variables.items()


def test_the_function_names_its_metrics_after_the_stack(template: dict[str, Any]) -> None:
    env = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["BLUEPRINT_JOBS_SERVICE"] == {"Ref": "AWS::StackName"}


def _queue_alarms(template: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    """Alarms on an SQS metric, by the queue they watch (its logical id)."""
    found: dict[str, dict[str, Any]] = {}
    for alarm in alarms(template).values():
        if alarm.get("Namespace") == "AWS/SQS" and alarm["MetricName"] == metric:
            [dimension] = alarm["Dimensions"]
            assert dimension["Name"] == "QueueName"
            found[dimension["Value"]["Fn::GetAtt"][0]] = alarm
    return found


def test_every_dead_letter_queue_alarms_on_its_first_message(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    dead_letters = {
        properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for properties in (
            r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::Queue"
        )
        if "RedrivePolicy" in properties
    }
    # And where the outbox's mapping puts the stream batches it gave up on.
    failures = resources["OutboxStreamMapping"]["Properties"]["DestinationConfig"]["OnFailure"]
    watched = dead_letters | {failures["Destination"]["Fn::GetAtt"][0]}
    assert watched == {"PipelineDeadLetterQueue", "UpdatesDeadLetterQueue", "OutboxFailuresQueue"}
    depth = _queue_alarms(template, "ApproximateNumberOfMessagesVisible")
    assert set(depth) == watched
    for alarm in depth.values():
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 0)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_the_queues_alarm_on_the_age_of_their_oldest_message(template: dict[str, Any]) -> None:
    age = _queue_alarms(template, "ApproximateAgeOfOldestMessage")
    assert set(age) == {"PipelineQueue", "UpdatesQueue"}
    for alarm in age.values():
        assert alarm["Statistic"] == "Maximum"
        assert 0 < alarm["Threshold"] <= 3600


def test_the_outbox_lag_and_the_sweepers_errors_are_watched(template: dict[str, Any]) -> None:
    by_function = {
        (alarm["MetricName"], alarm["Dimensions"][0]["Value"]["Ref"]): alarm
        for alarm in alarms(template).values()
        if alarm.get("Namespace") == "AWS/Lambda"
    }
    lag = by_function[("IteratorAge", "OutboxFunction")]
    # Well before the stream's 24 hours of retention.
    assert lag["Threshold"] <= 3600 * 1000
    assert ("Errors", "SweeperFunction") in by_function
