"""The local worker's detector: a command the user gives, run on one blueprint at a time.

The contract (README, "Jobs that finish: a detector on your laptop"):

- The command is split as a POSIX shell would split it (``shlex``), and run without a shell.
  Arguments that contain ``{input}`` or ``{output}`` have those placeholders replaced by the
  blueprint's path and the result's path; if none does, the two paths are appended, in that
  order. The blueprint's file is named for its format (``blueprint.png``, ``.jpg``, ``.pdf``).
- It succeeds by exiting 0 after writing one JSON document (at most 1 MiB) to the output path.
  Its standard output is discarded; the last line of its standard error explains a failure.
- It is stopped (the whole process group, on POSIX) when it runs past its timeout, when its
  job is cancelled, and when the server stops.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from attrs import frozen

from domain.job import MAX_ERROR_MESSAGE
from domain.pipeline import MAX_RESULT_BYTES, read_result
from entrypoints.settings import ConfigurationError

INPUT, OUTPUT = "{input}", "{output}"
# How long a stopped detector has to end after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 2.0
_STDERR_TAIL_BYTES = 4096


class Failure(enum.StrEnum):
    """Why a run produced no result: the code of the job's error."""

    FAILED = "DETECTOR_FAILED"
    TIMEOUT = "DETECTOR_TIMEOUT"
    OUTPUT_INVALID = "DETECTOR_OUTPUT_INVALID"


@frozen
class Verdict:
    """How a run ended: ``result`` (the JSON document's bytes) or ``failure`` and ``message``."""

    result: bytes | None = None
    failure: Failure | None = None
    message: str = ""

    @classmethod
    def failed(cls, failure: Failure, message: str) -> Verdict:
        if len(message) > MAX_ERROR_MESSAGE:
            message = message[: MAX_ERROR_MESSAGE - 3] + "..."
        return cls(failure=failure, message=message)


@frozen
class DetectorCommand:
    argv: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> DetectorCommand:
        try:
            argv = tuple(shlex.split(text))
        except ValueError as error:
            raise ConfigurationError(f"the worker's command cannot be read: {error}") from None
        if not argv:
            raise ConfigurationError("the worker's command is empty")
        if shutil.which(argv[0]) is None:
            raise ConfigurationError(f"the worker's command: no program {argv[0]!r} was found")
        return cls(argv)

    def for_paths(self, blueprint: Path, result: Path) -> list[str]:
        if not any(INPUT in arg or OUTPUT in arg for arg in self.argv):
            return [*self.argv, str(blueprint), str(result)]
        return [
            arg.replace(INPUT, str(blueprint)).replace(OUTPUT, str(result)) for arg in self.argv
        ]


class DetectorRun:
    """One run of the command on one blueprint, in a directory of its own that ``close``
    removes. ``poll`` says how it ended, once it has."""

    def __init__(
        self,
        command: DetectorCommand,
        blueprint: Iterable[bytes],
        blueprint_format: str,
        *,
        timeout_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout_seconds
        self._monotonic = monotonic
        self._directory = Path(tempfile.mkdtemp(prefix="blueprint-jobs-"))
        try:
            source = self._directory / f"blueprint.{blueprint_format}"
            with source.open("wb") as file:
                for chunk in blueprint:
                    file.write(chunk)
            self._output = self._directory / "result.json"
            self._stderr_path = self._directory / "stderr.txt"
            argv = command.for_paths(source, self._output)
            with self._stderr_path.open("wb") as stderr:
                self._process = subprocess.Popen(  # noqa: S603 (the user's own command)
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=os.name == "posix",  # its own group: stopped as a whole
                )
        except BaseException:
            self.close()
            raise
        self._started = monotonic()

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> Verdict | None:
        """How the run ended, or None while it runs (stopping it once past its timeout)."""
        status = self._process.poll()
        if status is None:
            if self._monotonic() - self._started <= self._timeout:
                return None
            self.stop()
            return Verdict.failed(
                Failure.TIMEOUT, f"The detector did not finish within {self._timeout:g} seconds."
            )
        if status != 0:
            return Verdict.failed(Failure.FAILED, self._failure_message(status))
        return self._read_output()

    def _failure_message(self, status: int) -> str:
        if status < 0:
            said = f"The detector was stopped by signal {-status}"
        else:
            said = f"The detector exited with status {status}"
        last = self._last_stderr_line()
        return f"{said}: {last}" if last else f"{said}."

    def _last_stderr_line(self) -> str:
        with self._stderr_path.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - _STDERR_TAIL_BYTES))
            tail = file.read().decode("utf-8", errors="replace")
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def _read_output(self) -> Verdict:
        try:
            with self._output.open("rb") as file:
                data = file.read(MAX_RESULT_BYTES + 1)
        except OSError:
            return Verdict.failed(
                Failure.OUTPUT_INVALID, "The detector exited 0 but wrote no result file."
            )
        try:
            read_result(data)  # as the result route will serve it
        except ValueError as error:
            return Verdict.failed(Failure.OUTPUT_INVALID, f"The detector's result is {error}")
        return Verdict(result=data)

    def stop(self) -> None:
        """End the process (and, on POSIX, what it started): SIGTERM, then SIGKILL after a
        grace period."""
        process = self._process
        if process.poll() is None:
            _signal(process, kill=False)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_GRACE_SECONDS)
        # The whole group, whether or not its leader has ended: a child that ignored SIGTERM,
        # or one left in the background, must not outlive its job.
        _signal(process, kill=True)
        process.wait()

    def close(self) -> None:
        """Stop the process if it still runs and remove the run's files."""
        process: subprocess.Popen[bytes] | None = getattr(self, "_process", None)
        if process is not None:
            self.stop()
        shutil.rmtree(self._directory, ignore_errors=True)


def _signal(process: subprocess.Popen[bytes], *, kill: bool) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        elif kill:  # pragma: no cover (Windows: no process groups to signal)
            process.kill()
        else:  # pragma: no cover
            process.terminate()
    except ProcessLookupError:
        pass  # it ended meanwhile
