"""The local worker over the in-memory composition (``bootstrap.build``), without a server:
detector commands of the tests' own run on the jobs created through the HTTP contract.

The worker is driven step by step on the test's thread (``drive``), except where its thread
itself is under test."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve

from adapters.memory import MemoryBlobStore, MemoryPipelineQueue
from domain.errors import ServiceUnavailable
from domain.job import Job, JobStatus
from domain.pipeline import JobMessage, MessageKind, ProgressUpdate
from domain.use_cases import Outcome
from domain.use_cases.lifecycle import MAX_RESULT_BYTES
from domain.use_cases.sweeper import TIMEOUT_CODE, SweepReport
from entrypoints import detector
from entrypoints.bootstrap import Components, LocalPipeline, build
from entrypoints.detector import DetectorCommand
from entrypoints.local_pipeline import WORKER_ERROR, LocalWorker
from tests.blueprints import pdf, png
from tests.fakes import OWNER
from tests.helpers import SETTINGS, a_job, captured_logs, create, parsed
from tests.http.clients import Client, FalconClient

pytestmark = pytest.mark.slow  # every test runs detector processes

ROOMS = {"rooms": [{"name": "hall", "polygon": [[0, 0], [4, 0], [4, 3], [0, 3]]}]}
# The detectors: small Python scripts, each given the blueprint's path and the result's path.
DETECTORS = {
    # Also keeps the arguments it was given, next to itself.
    "rooms": (
        "import json, os, sys\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "json.dump(sys.argv[1:], open(os.path.join(here, 'args'), 'w'))\n"
        f"json.dump({ROOMS!r}, open(sys.argv[2], 'w'))\n"
    ),
    "failing": "import sys\nsys.stderr.write('loading the model\\nno walls found\\n')\nsys.exit(3)\n",
    "silent": "import sys\nsys.exit(0)\n",
    "not-json": "import sys\nopen(sys.argv[2], 'w').write('rooms: none')\n",
    "nan": "import sys\nopen(sys.argv[2], 'w').write('{\"area\": NaN}')\n",
    "too-large": f"import sys\nopen(sys.argv[2], 'w').write('[' + ' ' * {MAX_RESULT_BYTES} + ']')\n",
    "killed": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    # Writes its pid, then ignores SIGTERM and never answers.
    "stubborn": (
        "import os, signal, time\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "open(os.path.join(here, 'pid'), 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    ),
    # Writes its pid next to itself, then waits for a file named "go" before it answers.
    "waiting": (
        "import json, os, sys, time\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "open(os.path.join(here, 'pid'), 'w').write(str(os.getpid()))\n"
        "while not os.path.exists(os.path.join(here, 'go')):\n"
        "    time.sleep(0.02)\n"
        f"json.dump({ROOMS!r}, open(sys.argv[2], 'w'))\n"
    ),
}


class Local:
    """The in-memory composition with a worker running one of the detectors."""

    def __init__(self, directory: Path, name: str, **settings: Any) -> None:
        script = directory / "detector.py"
        script.write_text(DETECTORS[name])
        self.directory = directory
        self.settings = evolve(SETTINGS, worker_command=f"{sys.executable} {script}", **settings)
        self.components: Components = build(self.settings)
        assert self.components.pipeline is not None
        self.pipeline: LocalPipeline = self.components.pipeline
        self.client: Client = FalconClient(self.components.use_cases, self.settings)
        self.worker = LocalWorker.of(self.components, self.settings)

    def create(self, data: bytes | None = None) -> str:
        reply = create(self.client, data or png(), "application/octet-stream")
        assert reply.status == 201, reply.body
        job_id: str = reply.data["job_id"]
        return job_id

    def job(self, job_id: str) -> Job:
        return self.components.use_cases.lifecycle.pipeline_job(job_id)

    def drive(self, until: Callable[[], bool], seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while not until():
            assert time.monotonic() < deadline, "the worker did not get there in time"
            self.worker.step()

    def ends(self, job_id: str) -> Job:
        self.drive(lambda: self.job(job_id).done)
        return self.job(job_id)

    def pid(self) -> int:
        """The waiting detector's pid, once it has written it."""
        path = self.directory / "pid"
        self.drive(lambda: path.exists() and path.read_text() != "")
        return int(path.read_text())


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., Local]]:
    """``make(name, **settings)``: the composition with a worker running that detector."""
    made: list[Local] = []

    def making(name: str, **settings: Any) -> Local:
        made.append(Local(tmp_path, name, **settings))
        return made[-1]

    yield making
    for local in made:
        local.worker.stop()


@pytest.fixture
def local(make: Callable[..., Local]) -> Local:
    return make("rooms")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


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
    pid = local.pid()
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
    pid = local.pid()
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
    assert not _results(local)


def test_cancelling_stops_the_detector_and_the_job_stays_cancelled(
    make: Callable[..., Local],
) -> None:
    local = make("waiting")
    job_id = local.create()
    pid = local.pid()
    assert local.worker.running_pid == pid
    assert local.client.request("DELETE", f"/api/v1/jobs/{job_id}").status == 200
    local.drive(lambda: local.worker.running_pid is None)
    assert gone(pid)
    assert local.job(job_id).status is JobStatus.CANCELLED
    # The pipeline's late word on it changes nothing, and says so.
    late = ProgressUpdate.parse(
        {"event_id": "late-1", "job_id": job_id, "type": "completed", "result_key": "results/x"}
    )
    with captured_logs("INFO") as stream:
        assert local.components.use_cases.progress.apply(late) is Outcome.TERMINAL
    [line] = [line for line in parsed(stream) if line.get("event_id") == "late-1"]
    assert line["message"] == "a late update for a finished job was ignored"
    assert line["status"] == "cancelled"
    assert local.job(job_id).status is JobStatus.CANCELLED


def test_a_result_that_comes_after_a_cancellation_is_ignored_and_not_kept(
    make: Callable[..., Local],
) -> None:
    """The cancellation's message has not reached the worker when its detector answers."""
    local = make("waiting")
    job_id = local.create()
    local.pid()
    local.components.use_cases.lifecycle.cancel_job(OWNER, job_id)
    assert local.pipeline.queue.receive(timeout=0) is not None  # taken before the worker sees it
    (local.directory / "go").touch()
    with captured_logs("INFO") as stream:
        local.drive(lambda: local.worker.running_pid is None)
    assert local.job(job_id).status is JobStatus.CANCELLED
    assert "a late update for a finished job was ignored" in [m["message"] for m in parsed(stream)]
    assert not _results(local)


def test_a_command_that_cannot_start_fails_the_job(local: Local) -> None:
    _worker(local, command=DetectorCommand((str(local.directory / "missing"),)))
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
    _worker(local, blobs=refusing)
    job_id = local.create()
    local.drive(lambda: local.job(job_id).done)
    error = local.job(job_id).error
    assert error is not None
    assert error.code == WORKER_ERROR


def test_a_message_for_an_unknown_job_is_skipped(local: Local) -> None:
    stranger = a_job()
    local.pipeline.queue.send(JobMessage.of(stranger, MessageKind.CREATED))
    with captured_logs("INFO") as stream:
        local.worker.step()
        local.worker.step()
    [line] = [line for line in parsed(stream) if line.get("update")]
    assert line["message"] == "an update could not be applied"
    assert (line["job_id"], line["error_code"]) == (stranger.job_id, "JOB_NOT_FOUND")
    assert local.worker.running_pid is None


def test_a_job_cancelled_before_its_turn_never_runs(local: Local) -> None:
    job_id = local.create()
    assert local.client.request("DELETE", f"/api/v1/jobs/{job_id}").status == 200
    with captured_logs("INFO") as stream:
        for _ in range(3):
            local.worker.step()
    lines = parsed(stream)
    [moved_on] = [line for line in lines if line["message"].startswith("the job has moved on")]
    assert moved_on["outcome"] == "behind"
    assert "detector started" not in [line["message"] for line in lines]
    assert local.job(job_id).status is JobStatus.CANCELLED


def test_the_sweeper_fails_a_job_started_and_lost(make: Callable[..., Local]) -> None:
    """A detector that crashed with its worker: the job was started, and nobody answers."""
    local = make("rooms", processing_timeout_seconds=0.4, resend_after_seconds=0.4)
    job_id = local.create()
    started = {"event_id": "crashed-1", "job_id": job_id, "type": "started"}
    local.components.use_cases.progress.apply(ProgressUpdate.parse(started))
    job = local.ends(job_id)  # the worker takes the message, sees the job started, skips it
    assert job.error is not None
    assert job.error.code == TIMEOUT_CODE


def test_the_sweeper_sends_a_job_whose_message_was_lost_again(make: Callable[..., Local]) -> None:
    local = make("rooms", processing_timeout_seconds=0.4, resend_after_seconds=0.4)
    job_id = local.create()
    assert local.pipeline.queue.receive(timeout=0) is not None  # lost
    assert local.ends(job_id).status is JobStatus.COMPLETED


def test_a_detector_whose_job_the_sweeper_failed_is_stopped(make: Callable[..., Local]) -> None:
    local = make(
        "waiting",
        processing_timeout_seconds=0.6,
        resend_after_seconds=60,
        worker_timeout_seconds=60,
    )
    job_id = local.create()
    pid = local.pid()
    local.drive(lambda: local.worker.running_pid is None)
    assert gone(pid)
    error = local.job(job_id).error
    assert error is not None
    assert error.code == TIMEOUT_CODE


def test_a_sweep_that_fails_is_logged_and_tried_again(make: Callable[..., Local]) -> None:
    local = make("rooms", processing_timeout_seconds=0.4, resend_after_seconds=0.4)

    class Down:
        calls = 0

        def sweep(self) -> SweepReport:
            Down.calls += 1
            raise ServiceUnavailable("job store down")

    _worker(local, sweeper=Down())
    with captured_logs("INFO") as stream:
        local.drive(lambda: Down.calls >= 2)
    assert "the sweep failed; the next one tries again" in [m["message"] for m in parsed(stream)]


def test_jobs_wait_their_turn_and_a_repeated_message_runs_nothing_twice(local: Local) -> None:
    first, second = local.create(png()), local.create(pdf())
    for job_id in (first, second):  # as the sweeper would send them again
        local.pipeline.queue.send(JobMessage.of(local.job(job_id), MessageKind.CREATED))
    local.ends(first)
    local.ends(second)
    assert local.pipeline.queue.pending() == 0
    versions = [local.job(job_id).version for job_id in (first, second)]
    assert versions == [3, 3]  # created, started, completed: once each


# -- the worker's thread ---------------------------------------------------------------------


def test_the_thread_works_the_queue_and_stops(local: Local) -> None:
    local.worker.start()
    job_id = local.create()
    deadline = time.monotonic() + 20
    while not local.job(job_id).done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert local.job(job_id).status is JobStatus.COMPLETED
    local.worker.stop()
    assert not local.worker.alive


def test_stopping_the_thread_stops_the_running_detector(make: Callable[..., Local]) -> None:
    local = make("waiting")
    local.worker.start()
    job_id = local.create()
    path = local.directory / "pid"
    deadline = time.monotonic() + 20
    while not (path.exists() and path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(path.read_text())
    local.worker.stop()
    assert not local.worker.alive
    assert gone(pid)
    assert local.job(job_id).status is JobStatus.PROCESSING  # the server is going away


def test_the_thread_survives_a_failing_step(local: Local) -> None:
    queue = local.pipeline.queue

    class Flaky:
        failed = False

        def receive(self, timeout: float | None = None) -> JobMessage | None:
            if not Flaky.failed:
                Flaky.failed = True
                raise RuntimeError("queue hiccup")
            return queue.receive(timeout)

    worker = _worker(local, inbox=Flaky())
    with captured_logs("INFO") as stream:
        worker.start()
        job_id = local.create()
        deadline = time.monotonic() + 20
        while not local.job(job_id).done and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.stop()
    assert local.job(job_id).status is JobStatus.COMPLETED
    messages = [line["message"] for line in parsed(stream)]
    assert "the local worker failed a step; it carries on" in messages


# -- helpers ---------------------------------------------------------------------------------


def _worker(local: Local, **parts: Any) -> LocalWorker:
    """A worker over ``local``'s composition, with some of its parts replaced."""
    pipeline = local.pipeline
    made = LocalWorker(
        parts.get("inbox", pipeline.queue),
        parts.get("blobs", pipeline.blobs),
        local.components.use_cases.progress,
        parts.get("sweeper", pipeline.sweeper),
        local.components.entropy,
        parts.get("command", DetectorCommand.parse(local.settings.worker_command or "")),
        timeout_seconds=local.settings.worker_timeout_seconds,
        sweep_every_seconds=0.05,
    )
    local.worker = made
    return made


def _results(local: Local) -> list[str]:
    stored = local.pipeline.blobs.keys()
    return [key for key in stored if key.startswith("results/")]
