"""What the service and the detection pipeline say to each other.

To the pipeline: a ``JobMessage`` when a job is created (``job.created``) and when one is
cancelled (``job.cancelled``), derived from the change of the stored job alone
(``messages_for_change``), so that a transactional outbox (DynamoDB Streams on AWS, the memory
store's change feed locally) can send it: there is no second write that could be lost.

From the pipeline: a ``ProgressUpdate`` (``started``, ``completed`` with the result's key,
``failed`` with a code and a message), each with the pipeline's own event id.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import frozen

from domain import ids
from domain.errors import DomainError
from domain.job import MAX_ERROR_MESSAGE, MAX_KEY_LENGTH, Job, JobStatus
from domain.timestamps import format_timestamp

SCHEMA_VERSION = 1
# Where the pipeline keeps results; a result key elsewhere (a blueprint's, say) is refused.
RESULT_PREFIX = "results/"
# A result is served as it is: one JSON document, this large at most.
MAX_RESULT_BYTES = 1024 * 1024


def read_result(data: bytes) -> object:
    """A result document as the service serves it: at most ``MAX_RESULT_BYTES`` of strict JSON
    (``NaN`` and ``Infinity`` are not JSON, whatever Python's parser takes). ``ValueError``
    otherwise, saying what the document is: "larger than ..." or "not JSON: ..."."""
    if len(data) > MAX_RESULT_BYTES:
        raise ValueError(f"larger than {MAX_RESULT_BYTES} bytes.")
    try:
        return json.loads(data, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("not JSON: nested beyond any reason.") from None
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        raise ValueError(f"not JSON: {error}") from None


def _not_json(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_EVENT_ID = re.compile(r"[\x21-\x7e]{1,128}")
_ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def is_result_key_of(job_id: str, key: str) -> bool:
    """Whether ``key`` may hold ``job_id``'s result: under ``results/<job_id>`` only, so that
    an update can never point a job at another job's (another owner's) result."""
    own = f"{RESULT_PREFIX}{job_id}"
    return (
        len(key) <= MAX_KEY_LENGTH
        and (key == own + ".json" or (key.startswith(own + "/") and len(key) > len(own) + 1))
        and ".." not in key.split("/")
    )


class MessageKind(enum.StrEnum):
    CREATED = "job.created"
    CANCELLED = "job.cancelled"


@frozen
class JobMessage:
    """A job for the pipeline to work on (``job.created``) or to stop (``job.cancelled``)."""

    kind: MessageKind
    job_id: str
    owner: str
    blueprint_key: str
    blueprint_format: str
    blueprint_sha256: str
    blueprint_size_bytes: int
    created_at: datetime
    correlation_id: str
    schema_version: int = SCHEMA_VERSION
    # Set on a re-send of a job the pipeline has not started (the sweeper's).
    resent_at: datetime | None = None

    @classmethod
    def of(cls, job: Job, kind: MessageKind, resent_at: datetime | None = None) -> JobMessage:
        return cls(
            kind=kind,
            job_id=job.job_id,
            owner=job.owner,
            blueprint_key=job.blueprint_s3_key,
            blueprint_format=job.blueprint_format.value,
            blueprint_sha256=job.blueprint_hash,
            blueprint_size_bytes=job.blueprint_size_bytes,
            created_at=job.created_at,
            correlation_id=job.correlation_id,
            resent_at=resent_at,
        )

    @property
    def deduplication_id(self) -> str:
        """The same for every sending of one message (a retried stream batch sends it again):
        receivers drop repeats by it. A re-send has one of its own, as it asks for the job
        again: a receiver that already holds the job (by its id) need not take it twice."""
        base = f"{self.job_id}:{self.kind.value}"
        if self.resent_at is None:
            return base
        return f"{base}:resent:{format_timestamp(self.resent_at)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "type": self.kind.value,
            "job_id": self.job_id,
            "owner": self.owner,
            "blueprint": {
                "key": self.blueprint_key,
                "format": self.blueprint_format,
                "sha256": self.blueprint_sha256,
                "size_bytes": self.blueprint_size_bytes,
            },
            "created_at": format_timestamp(self.created_at),
            "correlation_id": self.correlation_id,
            **({} if self.resent_at is None else {"resent_at": format_timestamp(self.resent_at)}),
        }


def messages_for_change(old: Job | None, new: Job | None) -> list[JobMessage]:
    """The messages a change of a stored job calls for (``old`` None: the job was added).

    A job added unfinished is sent as created; one completed at once by the result cache is
    not. A job that became cancelled is sent as cancelled. Nothing else is sent: the pipeline's
    own progress comes back to us, and goes no further.
    """
    if new is None:
        return []
    if old is None:
        return [] if new.done else [JobMessage.of(new, MessageKind.CREATED)]
    if new.status is JobStatus.CANCELLED and old.status is not JobStatus.CANCELLED:
        return [JobMessage.of(new, MessageKind.CANCELLED)]
    return []


class UpdateKind(enum.StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"


class MalformedUpdate(DomainError):
    """A progress update that cannot be read; it can never be applied, however often sent."""

    code = "MALFORMED_UPDATE"


@frozen
class ProgressUpdate:
    event_id: str
    job_id: str
    kind: UpdateKind
    result_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def parse(cls, data: object) -> ProgressUpdate:
        """An update from its JSON object: ``{"event_id", "job_id", "type", ...}`` with
        ``result_key`` for ``completed`` and ``error: {code, message}`` for ``failed``."""
        if not isinstance(data, Mapping):
            raise MalformedUpdate("An update is a JSON object.")
        event_id, job_id, kind = data.get("event_id"), data.get("job_id"), data.get("type")
        if not isinstance(event_id, str) or _EVENT_ID.fullmatch(event_id) is None:
            raise MalformedUpdate("event_id is 1..128 visible ASCII characters.")
        if not ids.is_job_id(job_id):
            raise MalformedUpdate("job_id is not a job id.", event_id=event_id)
        try:
            update_kind = UpdateKind(str(kind))
        except ValueError:
            raise MalformedUpdate(
                "type is started, completed or failed.", event_id=event_id
            ) from None
        if update_kind is UpdateKind.COMPLETED:
            key = data.get("result_key")
            if not isinstance(key, str) or not is_result_key_of(job_id, key):
                raise MalformedUpdate(
                    f"A completed update names its job's result_key: {RESULT_PREFIX}<job_id>.json "
                    f"or {RESULT_PREFIX}<job_id>/...",
                    event_id=event_id,
                )
            return cls(event_id, job_id, update_kind, result_key=key)
        if update_kind is UpdateKind.FAILED:
            error = data.get("error")
            code = error.get("code") if isinstance(error, Mapping) else None
            message = error.get("message") if isinstance(error, Mapping) else None
            if (
                not isinstance(code, str)
                or _ERROR_CODE.fullmatch(code) is None
                or not isinstance(message, str)
                or not 0 < len(message) <= MAX_ERROR_MESSAGE
            ):
                raise MalformedUpdate(
                    "A failed update carries error: {code: UPPER_SNAKE, message}.",
                    event_id=event_id,
                )
            return cls(event_id, job_id, update_kind, error_code=code, error_message=message)
        return cls(event_id, job_id, update_kind)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event_id": self.event_id,
            "job_id": self.job_id,
            "type": self.kind.value,
        }
        if self.result_key is not None:
            data["result_key"] = self.result_key
        if self.error_code is not None:
            data["error"] = {"code": self.error_code, "message": self.error_message}
        return data
