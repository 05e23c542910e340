"""Structured JSON logging: one object per line, with the request's ids on every line.

The ids live in a ContextVar, so concurrent requests (threads of the local server) never mix.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TextIO

_context: ContextVar[dict[str, Any] | None] = ContextVar("blueprint_jobs_log_context", default=None)

# One encoder for every line: json.dumps with options builds a new one each call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)
# Fields a call may pass through ``extra=``; anything else on a record is ignored.
EXTRA_FIELDS = (
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "job_id",
    "api_version",
    "blob_key",
    "error_code",
)


def open_context(fields: dict[str, Any]) -> Token[dict[str, Any] | None]:
    """Bind ``fields`` to every line logged until ``close_context``. The dict is the context
    itself, so the caller sees what ``bind`` adds (a plain function pair, not a context
    manager: it runs on every request)."""
    return _context.set(fields)


def close_context(token: Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current request's context (e.g. the job id once it is known)."""
    current = _context.get()
    if current is not None:
        current.update(fields)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        payload.update(_context.get() or {})
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                payload[name] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(payload)


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route every logger through one JSON handler. Called by the composition root only."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # What the JSON lines never show, the records need not collect (the logging HOWTO's
    # "Optimization"): the caller's frame, thread, process and multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # botocore logs request bodies at DEBUG; keep AWS libraries quiet unless asked.
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
