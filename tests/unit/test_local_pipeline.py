"""The local worker without running a detector: where it runs, its settings and flags, and
how a detector command is read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from attrs import evolve

from domain.job import MAX_ERROR_MESSAGE
from entrypoints import cli
from entrypoints.bootstrap import Components, build
from entrypoints.detector import DetectorCommand, Failure, Verdict
from entrypoints.local_pipeline import LocalWorker
from entrypoints.settings import ConfigurationError, Settings


@pytest.fixture
def built() -> Components:
    return build(Settings())


def test_the_aws_composition_has_no_local_pipeline_and_no_worker() -> None:
    settings = Settings(storage="aws", region="eu-west-1", worker_command="detect")
    built = build(settings)
    assert built.pipeline is None
    with pytest.raises(ConfigurationError, match="memory storage only"):
        LocalWorker.of(built, settings)


def test_a_worker_needs_a_command(built: Components) -> None:
    with pytest.raises(ConfigurationError, match="no detector command is set"):
        LocalWorker.of(built, Settings())


def test_the_worker_sweeps_as_often_as_its_shortest_delay_asks(built: Components) -> None:
    settings = Settings(
        worker_command=sys.executable, processing_timeout_seconds=2.0, resend_after_seconds=8.0
    )
    worker = LocalWorker.of(built, settings)
    assert worker.sweep_every_seconds == 0.5
    assert (
        LocalWorker.of(built, evolve(settings, processing_timeout_seconds=900)).sweep_every_seconds
        == 2
    )
    assert LocalWorker.of(built, Settings(worker_command=sys.executable)).sweep_every_seconds == 30
    assert worker.running_pid is None


# -- settings and flags ----------------------------------------------------------------------


def test_the_worker_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.worker_command, defaults.worker_timeout_seconds) == (None, 300)
    assert Settings.from_env({"BLUEPRINT_JOBS_WORKER": "  "}).worker_command is None
    settings = Settings.from_env(
        {"BLUEPRINT_JOBS_WORKER": "detect --fast", "BLUEPRINT_JOBS_WORKER_TIMEOUT_SECONDS": "12"}
    )
    assert (settings.worker_command, settings.worker_timeout_seconds) == ("detect --fast", 12)


@pytest.mark.parametrize("value", ["soon", "0", "-1", "inf"])
def test_a_bad_worker_timeout_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="BLUEPRINT_JOBS_WORKER_TIMEOUT_SECONDS"):
        Settings.from_env({"BLUEPRINT_JOBS_WORKER_TIMEOUT_SECONDS": value})


def test_serve_takes_the_worker_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(cli, "serve", lambda host, port, settings, threads: served.append(settings))
    monkeypatch.setenv("BLUEPRINT_JOBS_WORKER", "from-env")
    assert cli.main(["serve", "--worker", "detect {input} {output}", "--worker-timeout", "9"]) == 0
    assert cli.main(["serve"]) == 0
    assert [(s.worker_command, s.worker_timeout_seconds) for s in served] == [
        ("detect {input} {output}", 9.0),
        ("from-env", 300.0),
    ]


def test_serve_says_at_start_whether_a_worker_runs() -> None:
    assert cli._worker_line(Settings()).startswith("no local worker: new jobs stay pending")
    line = cli._worker_line(Settings(worker_command="detect", worker_timeout_seconds=60))
    assert line == "local worker: runs 'detect' on each new job (at most 60 s each)"


# -- the detector command --------------------------------------------------------------------


def test_the_paths_are_appended_unless_placeholders_say_where() -> None:
    blueprint, result = Path("/tmp/run/blueprint.pdf"), Path("/tmp/run/result.json")
    appended = DetectorCommand.parse(f"{sys.executable} -m detector --quiet")
    assert appended.for_paths(blueprint, result) == [
        sys.executable,
        "-m",
        "detector",
        "--quiet",
        str(blueprint),
        str(result),
    ]
    placed = DetectorCommand.parse(f"'{sys.executable}' --in={{input}} --out '{{output}}' -v")
    assert placed.for_paths(blueprint, result) == [
        sys.executable,
        f"--in={blueprint}",
        "--out",
        str(result),
        "-v",
    ]
    only_output = DetectorCommand.parse(f"{sys.executable} {{output}}")
    assert only_output.for_paths(blueprint, result) == [sys.executable, str(result)]


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("detect 'unclosed", "cannot be read"),
        ("   ", "is empty"),
        ("no-such-detector-anywhere --fast", "no program 'no-such-detector-anywhere' was found"),
    ],
)
def test_a_command_that_cannot_run_is_refused_at_start(command: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        DetectorCommand.parse(command)


def test_a_long_failure_message_is_cut_to_what_a_job_keeps() -> None:
    verdict = Verdict.failed(Failure.FAILED, "x" * (MAX_ERROR_MESSAGE + 50))
    assert len(verdict.message) == MAX_ERROR_MESSAGE
    assert verdict.message.endswith("...")
    assert verdict.result is None
