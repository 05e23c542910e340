"""The built artifact's handler, run as Lambda runs it: ``python3.13 -I -S driver.py ARTIFACT``.

Only the standard library and the artifact are importable (-I: no environment variables of
Python's, no script directory on the path; -S: no site-packages). Nothing is written next to
the code: /var/task is read-only on Lambda, so a module whose bytecode is missing or stale is
compiled on every cold start there, and here it is recorded.

Reads one JSON object per line on stdin and answers one per line on stdout:
- ``{"event": {...}, "context": {...}, "handler": "module.name"}``: the handler's result (or
  the traceback of what it raised) and the log lines it wrote, ``{"result": ..., "logs":
  [...]}``; the handler is the API's (``entrypoints.lambda_api.handler``) unless named;
- ``{"report": true}``: which sources were read (modules compiled from source), which files
  under botocore/data were opened, and where every loaded module came from.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import sysconfig
import time
import traceback
from typing import Any

ARTIFACT = sys.argv[1].rstrip("/")
sys.path.insert(0, ARTIFACT)
sys.dont_write_bytecode = True

_sources_read: list[str] = []
_data_opened: set[str] = set()
_DATA = f"{ARTIFACT}/botocore/data/"


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not isinstance(args[0], str) or not args[0].startswith(ARTIFACT):
        return
    path: str = args[0]
    if path.endswith(".py"):
        _sources_read.append(path[len(ARTIFACT) + 1 :])
    elif path.startswith(_DATA):
        _data_opened.add(path[len(_DATA) :])


sys.addaudithook(_audit)


class Context:
    """What the Lambda runtime passes as ``context``."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.aws_request_id = fields.get("aws_request_id", "c6af9ac6-7b61-11e6-9a41-93e812345678")
        self.function_name = fields.get("function_name", "blueprint-jobs")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = fields.get("memory_limit_in_mb", 1024)
        self.invoked_function_arn = (
            f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"
        self._deadline = time.monotonic() + fields.get("timeout_seconds", 29)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _report() -> dict[str, Any]:
    modules = {
        name: getattr(module, "__file__", None)
        for name, module in sorted(sys.modules.items())
        if name != "__main__"
    }
    return {
        "sources_read": sorted(set(_sources_read)),
        "data_opened": sorted(_data_opened),
        "modules": modules,
        "version": list(sys.version_info[:2]),
        "stdlib": sorted({sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}),
    }


def main() -> None:
    protocol = sys.stdout
    captured = io.StringIO()
    sys.stdout = captured  # the function's log lines, handed back with each answer
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("report"):
            answer: dict[str, Any] = {"report": _report()}
        else:
            try:
                # Imported on the first event, as Lambda does.
                module, _, name = message.get(
                    "handler", "entrypoints.lambda_api.handler"
                ).rpartition(".")
                handler = getattr(importlib.import_module(module), name)
                answer = {"result": handler(message["event"], Context(message.get("context", {})))}
            except BaseException:
                answer = {"error": traceback.format_exc()}
            answer["logs"] = captured.getvalue().splitlines()
            captured.seek(0)
            captured.truncate()
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
