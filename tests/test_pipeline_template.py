"""template.yaml's pipeline: the functions run the API's artifact with their own handlers and
settings, their event source mappings report failures per record, the queues redrive to
dead-letter queues, and the outputs name what the pipeline needs."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from entrypoints.settings import Settings
from tests.helpers import read_template

FUNCTIONS = ("OutboxFunction", "ProgressFunction", "SweeperFunction")
MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read_template()


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_the_apis_artifact_with_a_handler_of_its_own(
    template: dict[str, Any], function: str
) -> None:
    api, this = resource(template, "ApiFunction"), resource(template, function)
    for name in ("CodeUri", "Runtime", "Architectures"):
        assert this[name] == api[name], name
    assert template["Resources"][function]["Metadata"] == {"BuildMethod": "makefile"}
    module, _, name = this["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    # SAM builds each function with `make build-<LogicalId>`.
    assert re.search(rf"^FUNCTIONS :=.*\b{function}\b", MAKEFILE.read_text(), re.M)
    # No SAM event of a stream or a queue: SAM would attach an AWS managed role that reads
    # every stream or queue of the account (the mappings are resources of their own).
    events = this.get("Events", {})
    assert all(event["Type"] == "Schedule" for event in events.values())


def test_the_stream_feeds_the_outbox_with_failures_reported_per_record(
    template: dict[str, Any],
) -> None:
    mapping = resource(template, "OutboxStreamMapping")
    assert mapping["FunctionName"] == {"Ref": "OutboxFunction"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["JobsTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 100
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["OutboxFailuresQueue", "Arn"]
    }
    table = resource(template, "JobsTable")
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_updates_queue_feeds_the_consumer_and_redrives_to_its_dead_letters(
    template: dict[str, Any],
) -> None:
    mapping = resource(template, "ProgressQueueMapping")
    assert mapping["FunctionName"] == {"Ref": "ProgressFunction"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["UpdatesQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    updates = resource(template, "UpdatesQueue")
    assert updates["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["UpdatesDeadLetterQueue", "Arn"]
    }
    assert updates["RedrivePolicy"]["maxReceiveCount"] == 5
    # At least six times the consumer's timeout, as Lambda's documentation advises.
    assert updates["VisibilityTimeout"] >= 6 * resource(template, "ProgressFunction")["Timeout"]
    jobs = resource(template, "PipelineQueue")
    assert jobs["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["PipelineDeadLetterQueue", "Arn"]
    }


def test_the_sweeper_runs_every_five_minutes_with_the_templates_timeouts(
    template: dict[str, Any],
) -> None:
    sweeper = resource(template, "SweeperFunction")
    [event] = sweeper["Events"].values()
    assert event["Properties"]["Schedule"] == "rate(5 minutes)"
    env = sweeper["Environment"]["Variables"]
    assert env["BLUEPRINT_JOBS_PIPELINE_QUEUE_URL"] == {"Ref": "PipelineQueue"}
    parameters = template["Parameters"]
    deployed = Settings.from_env(
        {
            "BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS": str(
                parameters["ProcessingTimeoutSeconds"]["Default"]
            ),
            "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS": str(parameters["ResendAfterSeconds"]["Default"]),
        },
        profile="lambda",
    )
    assert env["BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS"] == {"Ref": "ProcessingTimeoutSeconds"}
    assert env["BLUEPRINT_JOBS_RESEND_AFTER_SECONDS"] == {"Ref": "ResendAfterSeconds"}
    defaults = Settings()
    assert deployed.processing_timeout_seconds == defaults.processing_timeout_seconds == 3600
    assert deployed.resend_after_seconds == defaults.resend_after_seconds == 900


def test_the_outputs_name_the_queues_the_pipeline_uses(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["PipelineQueueUrl"]["Value"] == {"Ref": "PipelineQueue"}
    assert outputs["UpdatesQueueUrl"]["Value"] == {"Ref": "UpdatesQueue"}
    assert outputs["PipelineQueueArn"]["Value"] == {"Fn::GetAtt": ["PipelineQueue", "Arn"]}
    assert outputs["UpdatesQueueArn"]["Value"] == {"Fn::GetAtt": ["UpdatesQueue", "Arn"]}
