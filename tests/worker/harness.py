"""The local worker's tests' harness: detector scripts of the tests' own, and the in-memory
composition (``bootstrap.build``) with a worker running one of them, driven step by step on the
test's thread (``Local.drive``)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import evolve

from domain.job import Job
from domain.pipeline import MAX_RESULT_BYTES
from entrypoints.bootstrap import Components, LocalPipeline, build
from entrypoints.detector import DetectorCommand
from entrypoints.local_pipeline import LocalWorker
from tests.blueprints import png
from tests.helpers import SETTINGS, create
from tests.http.clients import Client, FalconClient

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

    def started(self) -> int:
        """The pid of the detector the worker has started (which may not have run a line yet:
        for tests that stop it in any case)."""
        self.drive(lambda: self.worker.running_pid is not None)
        pid = self.worker.running_pid
        assert pid is not None
        return pid

    def pid(self) -> int:
        """The waiting detector's pid, once it has written it (so it runs its own code)."""
        path = self.directory / "pid"
        self.drive(lambda: path.exists() and path.read_text() != "")
        return int(path.read_text())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def worker_with(local: Local, **parts: Any) -> LocalWorker:
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


def results(local: Local) -> list[str]:
    stored = local.pipeline.blobs.keys()
    return [key for key in stored if key.startswith("results/")]
