"""What the local worker makes of what its detector does: a result, or a failure and its code."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.memory import MemoryBlobStore, MemoryPipelineQueue
from domain.job import JobStatus
from domain.pipeline import MAX_RESULT_BYTES
from entrypoints import detector
from entrypoints.detector import DetectorCommand
from entrypoints.local_pipeline import WORKER_ERROR
from tests.blueprints import png
from tests.helpers import captured_logs, create, parsed
from tests.worker.harness import ROOMS, Local, gone, results, worker_with

pytestmark = pytest.mark.slow  # every test runs detector processes


def test_a_detected_job_completes_and_its_result_is_served(local: Local) -> None:
    job_id = local.create()
    job = local.ends(job_id)
    assert job.status is JobStatus.COMPLETED
    assert job.result_s3_key == f"results/{job_id}.json"
    assert json.loads(local.pipeline.blobs.read_range(job.result_s3_key, 0, 10_000)) == ROOMS
    result = local.client.request("GET", f"/api/v1/jobs/{job_id}/result")
    assert result.status == 200, result.body
    assert result.data == {"job_id": job_id, "result_key": job.result_s3_key, "result": ROOMS}
    feedback = local.client.request(
        "POST", f"/api/v1/jobs/{job_id}/feedback", json_body={"rating": 5}
    )
    assert feedback.status == 201, feedback.body
    assert local.worker.running_pid is None
    blueprint, output = json.loads((local.directory / "args").read_text())
    assert (Path(blueprint).name, Path(output).name) == ("blueprint.png", "result.json")
    assert not Path(blueprint).parent.exists()  # the run's files are removed


def test_the_result_cache_completes_a_second_job_at_once_and_sends_nothing(local: Local) -> None:
    first = local.create()
    local.ends(first)
    queue: MemoryPipelineQueue = local.pipeline.queue
    assert queue.pending() == 0
    reply = create(local.client, png())
    assert reply.data["status"] == "completed"
    assert reply.data["cached_from"] == first
    assert queue.pending() == 0


def test_every_update_is_a_pipeline_update_with_an_event_of_the_workers(local: Local) -> None:
    with captured_logs("INFO") as stream:
        job_id = local.create()
        local.ends(job_id)
    updates = [line for line in parsed(stream) if line.get("update")]
    assert [(u["update"], u["outcome"]) for u in updates] == [
        ("started", "applied"),
        ("completed", "applied"),
    ]
    assert all(u["job_id"] == job_id for u in updates)
    assert len({u["event_id"] for u in updates}) == 2
    assert all(u["event_id"].startswith("local-") for u in updates)


def test_a_detector_that_exits_non_zero_fails_its_job(make: Callable[..., Local]) -> None:
    local = make("failing")
    job_id = local.create()
    job = local.ends(job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == "DETECTOR_FAILED"
    assert job.error.message == "The detector exited with status 3: no walls found"
    feedback = local.client.request(
        "POST", f"/api/v1/jobs/{job_id}/feedback", json_body={"rating": 1}
    )
    assert feedback.status == 201


def test_a_detector_past_its_timeout_is_stopped_and_its_job_failed(
    make: Callable[..., Local],
) -> None:
    local = make("waiting", worker_timeout_seconds=0.5)
    job_id = local.create()
    pid = local.started()
    job = local.ends(job_id)
    assert job.error is not None
    assert (job.error.code, job.error.message) == (
        "DETECTOR_TIMEOUT",
        "The detector did not finish within 0.5 seconds.",
    )
    assert gone(pid)


def test_a_detector_ended_by_a_signal_fails_its_job(make: Callable[..., Local]) -> None:
    local = make("killed")
    error = local.ends(local.create()).error
    assert error is not None
    assert (error.code, error.message) == (
        "DETECTOR_FAILED",
        f"The detector was stopped by signal {signal.SIGKILL}.",
    )


def test_a_detector_that_ignores_sigterm_is_killed(
    make: Callable[..., Local], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detector, "STOP_GRACE_SECONDS", 0.2)
    local = make("stubborn", worker_timeout_seconds=0.3)
    job_id = local.create()
    pid = local.started()
    error = local.ends(job_id).error
    assert error is not None
    assert error.code == "DETECTOR_TIMEOUT"
    assert gone(pid)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("silent", "The detector exited 0 but wrote no result file."),
        ("not-json", "The detector's result is not JSON: Expecting value: line 1 column 1"),
        ("nan", "The detector's result is not JSON: NaN is not JSON"),
        ("too-large", f"The detector's result is larger than {MAX_RESULT_BYTES} bytes."),
    ],
)
def test_a_result_that_is_not_one_json_document_fails_the_job(
    tmp_path: Path, script: str, message: str
) -> None:
    local = Local(tmp_path, script)
    job = local.ends(local.create())
    assert job.error is not None
    assert job.error.code == "DETECTOR_OUTPUT_INVALID"
    assert job.error.message.startswith(message)
    assert not results(local)


def test_a_command_that_cannot_start_fails_the_job(local: Local) -> None:
    worker_with(local, command=DetectorCommand((str(local.directory / "missing"),)))
    job_id = local.create()
    local.drive(lambda: local.job(job_id).done)
    error = local.job(job_id).error
    assert error is not None
    assert error.code == "DETECTOR_FAILED"
    assert error.message.startswith("It could not start: [Errno 2]")


def test_a_failure_of_the_worker_itself_fails_the_job_and_is_logged(local: Local) -> None:
    job_id = local.create()
    local.pipeline.blobs.delete(local.job(job_id).blueprint_s3_key)
    with captured_logs("INFO") as stream:
        job = local.ends(job_id)
    assert job.error is not None
    assert job.error.code == WORKER_ERROR
    [line] = [line for line in parsed(stream) if line["level"] == "ERROR"]
    assert line["message"] == "the local worker failed on a job"
    assert "BlobNotFound" in line["exception"]


def test_a_result_that_cannot_be_stored_fails_the_job(local: Local) -> None:
    class RefusingResults(MemoryBlobStore):
        def put(self, key: str, chunks: Any, max_bytes: int) -> int:
            raise RuntimeError("disk full")

    blobs = local.pipeline.blobs
    refusing = RefusingResults()
    refusing.stream = blobs.stream  # type: ignore[method-assign]
    worker_with(local, blobs=refusing)
    job_id = local.create()
    local.drive(lambda: local.job(job_id).done)
    error = local.job(job_id).error
    assert error is not None
    assert error.code == WORKER_ERROR
