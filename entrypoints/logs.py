"""Structured JSON logging: one object per line, with the request's ids on every line.

The ids live in a ContextVar, so concurrent requests (threads of the local server) never mix.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TextIO

_context: ContextVar[dict[str, Any] | None] = ContextVar("blueprint_jobs_log_context", default=None)

# One encoder for every line: json.dumps with options builds a new one each call. ASCII only:
# a line stays one line for every reader (U+2028, U+2029 and U+0085 are line breaks to some),
# and a lone surrogate a client sent is escaped, not a write that fails.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=True)
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
    "event_id",
    "update",
    "outcome",
    "failed",
    "resent",
    # The pipeline's functions: an SQS message, a stream record, what was sent.
    "message_id",
    "sequence_number",
    "message_type",
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
        context = _context.get()
        if context:
            payload.update(context)
        fields = record.__dict__
        get = fields.get
        for name in EXTRA_FIELDS:
            value = get(name)
            if value is not None:
                payload[name] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        line = _ENCODER.encode(payload)
        emf = fields.get("emf")
        if emf:  # EMF members, already JSON (entrypoints/metrics.py): a metrics record
            line = f"{line[:-1]},{emf}}}"
        return line


# The last whole second formatted, and its text: lines come many to a second.
_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-11-26T03:15:00.123Z``."""
    global _second
    whole = math.floor(created)
    second, text = _second
    if whole != second:
        text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second = (whole, text)
    micros = round((created - whole) * 1_000_000)  # as datetime rounds a float's microseconds
    if micros >= 1_000_000:  # rounds up into the next second: let datetime say which
        moment = datetime.fromtimestamp(created, UTC)
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return f"{text}.{micros // 1000:03d}Z"


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Formats each record where it is logged (where the request's context is), but writes
    lines in batches: at most every ``interval`` seconds, or when ``batch`` lines wait.

    For the local server, whose threads would otherwise each take the handler's lock for a
    write and a flush per request. Not for Lambda, where a line must be out before the
    invocation ends: there every record is flushed as it comes.
    """

    def __init__(self, stream: TextIO, interval: float = 0.2, batch: int = 256) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._interval = interval
        self._batch = batch
        self._wake = threading.Event()
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            full = len(self._pending) >= self._batch
        if full or record.levelno >= logging.ERROR:
            self._wake.set()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._pending = self._pending, []
            if lines:
                self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.flush()
        super().close()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except (OSError, ValueError):  # the stream went away (shut down, closed)
                return


def configure_logging(
    level: str = "INFO", stream: TextIO | None = None, *, batched: bool = False
) -> None:
    """Route every logger through one JSON handler. Called by the composition root only.

    ``batched`` writes lines from a background thread in batches (the local server).
    """
    target = stream or sys.stdout
    handler = BatchingStreamHandler(target) if batched else logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
        if isinstance(existing, BatchingStreamHandler):
            existing.close()
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
    # Metrics (EMF records) are written whatever the level.
    logging.getLogger("blueprint_jobs.metrics").setLevel(logging.INFO)
