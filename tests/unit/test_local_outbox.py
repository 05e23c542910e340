"""The local outbox: with memory storage, the job store's change feed puts every created and
cancelled job's message on the in-process queue, through the same mapping as the AWS stream
consumer (``messages_for_change``)."""

from __future__ import annotations

import time

import pytest

from adapters.memory import MemoryPipelineQueue
from domain.pipeline import JobMessage, MessageKind
from domain.use_cases import Origin
from domain.use_cases.sweeper import SweepReport
from entrypoints.bootstrap import Components, build
from entrypoints.settings import DEV_OWNER, ConfigurationError, Settings
from tests.blueprints import pdf, png

ORIGIN = Origin(DEV_OWNER, "req_20261126_031500_k3j9x2m1q8zp", "corr-outbox", "v1")


# The outbox feeds the in-process queue when a worker takes messages off it.
WORKER = "detect {input} {output}"


@pytest.fixture
def built() -> Components:
    return build(Settings(worker_command=WORKER))


def test_without_a_worker_nothing_piles_up_on_the_queue() -> None:
    idle = build(Settings())
    idle.use_cases.intake.create_job([png()], ORIGIN)
    assert _drain(_queue(idle)) == []


def _queue(built: Components) -> MemoryPipelineQueue:
    assert built.pipeline is not None
    return built.pipeline.queue


def _drain(queue: MemoryPipelineQueue) -> list[JobMessage]:
    taken: list[JobMessage] = []
    while (message := queue.receive(timeout=0)) is not None:
        taken.append(message)
    return taken


def test_a_created_job_is_on_the_in_process_queue(built: Components) -> None:
    job = built.use_cases.intake.create_job([png()], ORIGIN)
    [message] = _drain(_queue(built))
    assert message == JobMessage.of(job, MessageKind.CREATED)
    assert message.to_dict()["correlation_id"] == "corr-outbox"
    assert message.blueprint_key == job.blueprint_s3_key


def test_a_cancelled_job_is_sent_once_and_progress_sends_nothing(built: Components) -> None:
    lifecycle = built.use_cases.lifecycle
    cancelled = built.use_cases.intake.create_job([png()], ORIGIN)
    finished = built.use_cases.intake.create_job([pdf()], ORIGIN)
    _drain(_queue(built))
    lifecycle.cancel_job(DEV_OWNER, cancelled.job_id)
    lifecycle.cancel_job(DEV_OWNER, cancelled.job_id)  # again: nothing changes, nothing is sent
    lifecycle.start_processing(finished.job_id)
    lifecycle.complete_job(finished.job_id, f"results/{finished.job_id}.json")
    assert [(m.kind, m.job_id) for m in _drain(_queue(built))] == [
        (MessageKind.CANCELLED, cancelled.job_id)
    ]


def test_a_job_the_result_cache_completes_is_not_sent(built: Components) -> None:
    first = built.use_cases.intake.create_job([png()], ORIGIN)
    built.use_cases.lifecycle.start_processing(first.job_id)
    built.use_cases.lifecycle.complete_job(first.job_id, f"results/{first.job_id}.json")
    _drain(_queue(built))
    cached = built.use_cases.intake.create_job([png()], ORIGIN)
    assert cached.done
    assert cached.cached_from == first.job_id
    assert _drain(_queue(built)) == []


def test_the_sweeper_is_built_with_the_configured_delays() -> None:
    """A job processing past the timeout is failed; one pending past the delay is sent again."""
    built = build(
        Settings(worker_command=WORKER, processing_timeout_seconds=0.05, resend_after_seconds=0.05)
    )
    patient = build(Settings(worker_command=WORKER))
    for components in (built, patient):
        started = components.use_cases.intake.create_job([png()], ORIGIN)
        components.use_cases.lifecycle.start_processing(started.job_id)
        components.use_cases.intake.create_job([pdf()], ORIGIN)  # and left pending
        _drain(_queue(components))
    time.sleep(0.1)
    assert built.pipeline is not None
    assert patient.pipeline is not None
    report = built.pipeline.sweeper.sweep()
    assert len(report.failed) == len(report.resent) == 1
    assert [m.job_id for m in _drain(_queue(built))] == report.resent
    assert patient.pipeline.sweeper.sweep() == SweepReport([], [])


def test_the_sweeper_delays_are_read_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.processing_timeout_seconds, defaults.resend_after_seconds) == (3600, 900)
    settings = Settings.from_env(
        {
            "BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS": "0.5",
            "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS": "60",
        }
    )
    assert (settings.processing_timeout_seconds, settings.resend_after_seconds) == (0.5, 60)


@pytest.mark.parametrize(
    "name", ["BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS", "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS"]
)
@pytest.mark.parametrize("value", ["soon", "0", "-1", "inf"])
def test_bad_sweeper_delays_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})
