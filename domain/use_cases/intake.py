"""Intake: blueprints in, jobs out. Inline bytes, upload sessions, and the result cache."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from domain import ids
from domain.blueprint import (
    MAX_BLUEPRINT_BYTES,
    SIGNATURE_BYTES,
    BlueprintFacts,
    BlueprintFormat,
    BlueprintInspector,
    check_signature,
    inspected,
)
from domain.errors import (
    BlobNotFound,
    FileTooLarge,
    InvalidFileFormat,
    InvalidRequest,
    UploadAlreadyUsed,
    UploadIncomplete,
    UploadNotFound,
    UploadRejected,
    UploadSizeMismatch,
    WriteOutcomeUnknown,
)
from domain.job import Job
from domain.quotas import unfinished_limit_reached
from domain.upload import UPLOAD_TTL, UploadSession, upload_id_of_key
from domain.use_cases.shared import Origin, discard_blob
from ports.blobs import BlobStore, FormUploadReceiver, UploadForm
from ports.jobs import JobStore
from ports.system import Clock, Entropy

log = logging.getLogger(__name__)

STREAM_CHUNK_BYTES = 1024 * 1024


def blueprint_key(job_id: str, fmt: BlueprintFormat) -> str:
    """Server-generated: nothing the client sends reaches a key."""
    return f"blueprints/{job_id}/source.{fmt.value}"


class Intake:
    def __init__(
        self,
        jobs: JobStore,
        blobs: BlobStore,
        clock: Clock,
        entropy: Entropy,
        *,
        result_cache: bool = True,
        unfinished_limit: int | None = None,
    ) -> None:
        self._jobs = jobs
        self._blobs = blobs
        self._clock = clock
        self._entropy = entropy
        self._result_cache = result_cache
        self._unfinished_limit = unfinished_limit
        self._receiver = blobs if isinstance(blobs, FormUploadReceiver) else None

    def _random(self, n: int) -> bytes:
        return self._entropy.random_bytes(n)

    def create_job(
        self,
        chunks: Iterable[bytes],
        origin: Origin,
        declared_format: BlueprintFormat | None = None,
        *,
        use_cache: bool = True,
    ) -> Job:
        """Validate and store the blueprint, then record the job.

        The blob is written first so that no job ever points at a missing blob; if the job
        record cannot be written, the blob is removed again so that none is orphaned.
        """
        self._check_unfinished(origin.owner)
        now = self._clock.now()
        job_id = ids.new_job_id(now, self._random(ids.ULID_RANDOM_BYTES))
        inspector = BlueprintInspector(declared_format)
        # The key names the format, which only the leading bytes tell: read those first.
        head: list[bytes] = []
        stream = iter(inspected(chunks, inspector))
        key = blueprint_key(job_id, self._peek_format(stream, inspector, head))
        try:
            self._blobs.put(key, _chain(head, stream), MAX_BLUEPRINT_BYTES)
        except (InvalidFileFormat, FileTooLarge, InvalidRequest):
            raise  # refused by validation while streaming: the store kept nothing
        except BaseException:
            discard_blob(self._blobs, key)  # a store failing half-way may have left a part behind
            raise
        facts = inspector.finish()
        job = self._record(
            job_id,
            now,
            facts,
            key,
            origin,
            use_cache,
            lambda new: self._jobs.add(new, self._unfinished_limit),
        )
        log.debug("job created", extra={"job_id": job_id})
        return job

    def _check_unfinished(self, owner: str) -> None:
        """Refuse early, before any blueprint is read, an owner already at the unfinished-jobs
        limit (the store's write refuses atomically; this only saves the upload)."""
        limit = self._unfinished_limit
        if limit is not None and self._jobs.unfinished_jobs(owner) >= limit:
            raise unfinished_limit_reached(limit)

    def _record(
        self,
        job_id: str,
        now: datetime,
        facts: BlueprintFacts,
        key: str,
        origin: Origin,
        use_cache: bool,
        write: Callable[[Job], None],
    ) -> Job:
        """Build the job for a stored blueprint and ``write`` it; if that fails, the blob is
        removed, so no blueprint outlives a job that was never recorded.

        A store that cannot tell whether the job was written (``WriteOutcomeUnknown``) keeps
        the blob: a blob whose job may exist is never deleted.
        """
        try:
            job = Job.create(
                job_id=job_id,
                owner=origin.owner,
                now=now,
                blueprint=facts,
                blueprint_key=key,
                request_id=origin.request_id,
                correlation_id=origin.correlation_id,
                api_version=origin.api_version,
                cached=self._cached_result(origin.owner, facts.sha256, use_cache),
            )
        except BaseException:
            discard_blob(self._blobs, key)
            raise
        try:
            write(job)
        except WriteOutcomeUnknown:
            log.warning(
                "kept the blob of a job whose write has an unknown outcome",
                extra={"job_id": job.job_id, "blob_key": key},
            )
            raise
        except BaseException:
            discard_blob(self._blobs, key)
            raise
        return job

    @staticmethod
    def _peek_format(
        stream: Iterable[bytes], inspector: BlueprintInspector, head: list[bytes]
    ) -> BlueprintFormat:
        """Read just enough of the stream to know the format; keep what was read."""
        for chunk in stream:
            head.append(chunk)
            if inspector.format is not None:
                return inspector.format
        return inspector.finish().format

    # -- upload sessions -----------------------------------------------------------------------

    def open_upload(
        self, owner: str, format_name: Any, size_bytes: Any
    ) -> tuple[UploadSession, UploadForm]:
        """Record the owner's session and presign the form with which the file is uploaded."""
        now = self._clock.now()
        upload_id = ids.new_upload_id(now, self._random(ids.ULID_RANDOM_BYTES))
        session = UploadSession.open(upload_id, owner, format_name, size_bytes, now)
        form = self._blobs.presign_upload(
            session.key, session.size_bytes, int(UPLOAD_TTL.total_seconds())
        )
        self._jobs.add_upload(session)
        return session, form

    @property
    def receives_uploads(self) -> bool:
        """Whether upload forms are sent to this service (local storage) rather than to S3."""
        return self._receiver is not None

    def receive_upload(self, fields: Mapping[str, str], chunks: Iterable[bytes]) -> int:
        """Take a form upload (local storage). The form's signature, expiry, key and size are
        the receiver's to check; a session that has made its job or expired takes no more."""
        if self._receiver is None:
            raise UploadRejected("This service does not receive uploads itself.")
        # The form first: only its signer may learn anything of the session it names.
        self._receiver.check_form(fields)
        upload_id = upload_id_of_key(fields.get("key", ""))
        session = None
        with contextlib.suppress(UploadNotFound):  # signed, but its session is gone
            session = self._jobs.get_upload(upload_id) if upload_id else None
        if session is not None and (session.job_id or session.expired(self._clock.now())):
            raise UploadRejected("This upload session has made its job, or has expired.")
        return self._receiver.accept_upload(fields, chunks)

    def _cached_result(self, owner: str, sha256: str, use_cache: bool) -> Job | None:
        """A completed job of the owner with the same blueprint, whose result a new job may
        take. Never another owner's: that would tell one owner what another has sent."""
        if not (self._result_cache and use_cache):
            return None
        return self._jobs.find_completed_by_hash(owner, sha256)

    def create_job_from_upload(
        self, upload_id: str, origin: Origin, *, use_cache: bool = True
    ) -> Job:
        """Copy the upload under the job's key, then check and hash the copy, and record the
        job, marking the session used, all or nothing.

        The client may replace its upload at any time until the form expires, so the copy,
        under a key no client can write, is what is checked: the job records exactly the bytes
        its blob holds.
        """
        if not ids.is_upload_id(upload_id):
            raise InvalidRequest("upload_id is 'upl_' and 26 ULID characters.", field="upload_id")
        session = self._jobs.get_upload(upload_id)
        if session.owner != origin.owner:  # answered as a session that does not exist
            raise UploadNotFound("No upload session has this id.", upload_id=upload_id)
        self._check_unfinished(origin.owner)
        now = self._clock.now()
        _check_usable(session, now)
        job_id = ids.new_job_id(now, self._random(ids.ULID_RANDOM_BYTES))
        key = blueprint_key(job_id, session.format)
        try:
            self._blobs.copy(session.key, key)
        except BlobNotFound:
            # Never uploaded, or taken by a concurrent request that made the job.
            _check_usable(self._jobs.get_upload(upload_id), now)
            raise UploadIncomplete(
                "Nothing has been uploaded for this session yet.", upload_id=upload_id
            ) from None
        try:
            facts = self._inspect_copy(key, session)
        except BaseException:
            discard_blob(self._blobs, key)
            raise
        job = self._record(
            job_id,
            now,
            facts,
            key,
            origin,
            use_cache,
            lambda new: self._jobs.add_job_from_upload(new, upload_id, self._unfinished_limit),
        )
        discard_blob(self._blobs, session.key)
        log.debug("job created from an upload", extra={"job_id": job_id})
        return job

    def _inspect_copy(self, key: str, session: UploadSession) -> BlueprintFacts:
        """The size first, then the leading bytes, then the whole object as a stream."""
        size = self._blobs.size(key)
        if size is None:
            raise UploadIncomplete(
                "Nothing has been uploaded for this session yet.", upload_id=session.upload_id
            )
        if size > MAX_BLUEPRINT_BYTES:
            raise FileTooLarge(
                f"A blueprint may be at most {MAX_BLUEPRINT_BYTES} bytes.",
                max_bytes=MAX_BLUEPRINT_BYTES,
            )
        if size != session.size_bytes:
            raise UploadSizeMismatch(
                "The uploaded file is not the size declared when the session was opened.",
                declared_bytes=session.size_bytes,
                uploaded_bytes=size,
            )
        check_signature(self._blobs.read_range(key, 0, SIGNATURE_BYTES), session.format)
        inspector = BlueprintInspector(session.format)
        for chunk in self._blobs.stream(key, STREAM_CHUNK_BYTES):
            inspector.feed(chunk)
        return inspector.finish()


def _check_usable(session: UploadSession, now: datetime) -> None:
    if session.expired(now):
        raise UploadNotFound("The upload session has expired.", upload_id=session.upload_id)
    if session.job_id is not None:
        raise UploadAlreadyUsed("This upload has already created a job.", job_id=session.job_id)


def _chain(head: list[bytes], rest: Iterable[bytes]) -> Iterable[bytes]:
    yield from head
    head.clear()
    yield from rest
