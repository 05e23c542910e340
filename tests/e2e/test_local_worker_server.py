"""``blueprint-jobs serve --worker COMMAND`` over real HTTP: jobs a detector command of the
test's own completes or fails, their results, feedback, and a clean stop."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.blueprints import pdf, png
from tests.e2e.servers import DEV_AUTH, MEMORY_ENV, cli, free_port, running

pytestmark = pytest.mark.slow

ROOMS = {"rooms": [{"name": "kitchen", "polygon": [[0, 0], [4, 0], [4, 3]]}], "doors": 2}
# Finds rooms in PNGs; refuses PDFs, as a detector that reads only images would.
DETECTOR = f"""
import json, os, sys
blueprint, result = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
open(os.path.join(here, "pid"), "w").write(str(os.getpid()))
if blueprint.endswith(".pdf"):
    sys.stderr.write("this detector reads images only\\n")
    sys.exit(4)
if os.path.exists(os.path.join(here, "hold")):
    import time
    time.sleep(120)
json.dump({ROOMS!r}, open(result, "w"))
"""


@pytest.fixture
def detector(tmp_path: Path) -> Path:
    script = tmp_path / "detector.py"
    script.write_text(DETECTOR)
    return script


@pytest.fixture
def served(detector: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(detector))}"
    args = [*cli(), "serve", "--port", str(port), "--worker", command, "--worker-timeout", "60"]
    with running(args, f"{base}/health", env=MEMORY_ENV) as server:
        yield base, server


def _create(base: str, data: bytes) -> str:
    created = requests.post(
        f"{base}/api/v1/jobs",
        data=data,
        headers={"Content-Type": "application/octet-stream", **DEV_AUTH},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    job_id: str = created.json()["data"]["job_id"]
    return job_id


def _finished(base: str, job_id: str, seconds: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = requests.get(
            f"{base}/api/v1/jobs/{job_id}", headers=DEV_AUTH, timeout=10
        ).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, f"the job is still {job['status']}"
        time.sleep(0.1)


def test_the_worker_completes_and_fails_jobs_with_the_detectors_word(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = served
    job_id = _create(base, png())
    job = _finished(base, job_id)
    assert job["status"] == "completed"
    assert job["result_s3_key"] == f"results/{job_id}.json"
    result = requests.get(f"{base}/api/v1/jobs/{job_id}/result", headers=DEV_AUTH, timeout=10)
    assert result.status_code == 200, result.text
    assert result.json()["data"] == {
        "job_id": job_id,
        "result_key": f"results/{job_id}.json",
        "result": ROOMS,
    }
    feedback = requests.post(
        f"{base}/api/v1/jobs/{job_id}/feedback",
        json={"rating": 5, "comment": "All rooms found"},
        headers=DEV_AUTH,
        timeout=10,
    )
    assert feedback.status_code == 201, feedback.text

    refused = _finished(base, _create(base, pdf()))
    assert refused["status"] == "failed"
    assert refused["error"] == {
        "code": "DETECTOR_FAILED",
        "message": "The detector exited with status 4: this detector reads images only",
    }
    pending = requests.get(
        f"{base}/api/v1/jobs/{refused['job_id']}/result", headers=DEV_AUTH, timeout=10
    )
    assert pending.status_code == 409
    assert pending.json()["error"]["code"] == "JOB_NOT_FINISHED"


def test_stopping_the_server_stops_the_detector_it_runs(
    served: tuple[str, subprocess.Popen[str]], detector: Path
) -> None:
    base, server = served
    (detector.parent / "hold").touch()
    pid_file = detector.parent / "pid"
    job_id = _create(base, png())
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the detector did not start"
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    status = requests.get(f"{base}/api/v1/jobs/{job_id}", headers=DEV_AUTH, timeout=10)
    assert status.json()["data"]["status"] == "processing"
    server.terminate()
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the detector outlived the server"
        time.sleep(0.05)


def test_without_a_worker_serve_says_that_jobs_stay_pending() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port)]
    with running(command, f"{base}/health", env=MEMORY_ENV) as server:
        # Printed before the server listens: once it answers, the lines are in the pipe.
        assert server.stdout is not None
        said = [server.stdout.readline(), server.stdout.readline()]
        job_id = _create(base, png())
        job = requests.get(f"{base}/api/v1/jobs/{job_id}", headers=DEV_AUTH, timeout=10).json()
    assert said[0].startswith("development API key")
    assert said[1].startswith("no local worker: new jobs stay pending")
    assert job["data"]["status"] == "pending"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
