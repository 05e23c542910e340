"""The pipeline's settings: the queue's URL, the sweeper's two delays."""

from __future__ import annotations

import pytest

from entrypoints.aws import outbox_parts, pipeline_queue, sweeper
from entrypoints.settings import ConfigurationError, Settings


def test_the_pipelines_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BLUEPRINT_JOBS_PIPELINE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
            "BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS": "120",
            "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS": "60.5",
        },
        profile="lambda",
    )
    assert settings.pipeline_queue_url == "https://sqs.eu-west-1.amazonaws.com/1/q"
    assert (settings.processing_timeout_seconds, settings.resend_after_seconds) == (120, 60.5)
    assert pipeline_queue(settings).queue_url == settings.pipeline_queue_url
    assert outbox_parts(settings)[0].queue_url == settings.pipeline_queue_url
    sweeper(settings)  # builds, makes no client and no call


@pytest.mark.parametrize(
    "name", ["BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS", "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS"]
)
@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_the_sweepers_delays_are_positive_seconds(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value}, profile="lambda")


def test_without_the_queues_url_the_outbox_and_the_sweeper_refuse_to_start() -> None:
    unset = Settings.from_env({"BLUEPRINT_JOBS_PIPELINE_QUEUE_URL": ""}, profile="lambda")
    for build in (pipeline_queue, outbox_parts, sweeper):
        with pytest.raises(ConfigurationError, match="BLUEPRINT_JOBS_PIPELINE_QUEUE_URL"):
            build(unset)
