"""The blob store on S3, through a botocore client.

Puts are all or nothing: a blueprint up to one part is a single ``PutObject``; a larger one is
a multipart upload that is aborted if anything goes wrong, so a half-written object never
becomes visible. Every put carries a SHA-256 checksum that S3 verifies. At most one part is
held in memory.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws import AttemptGuard, error_code, finishing, http_status, raise_translated
from domain.errors import BlobNotFound, FileTooLarge, ServiceUnavailable
from ports.blobs import UploadForm

if TYPE_CHECKING:  # the stubs are for type checking only: nothing is imported at run time
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PART_BYTES = 8 * 1024 * 1024
_WHAT = "The blob store"
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _sha256_b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class S3BlobStore:
    """``client`` is an S3 client, or a function that makes one: then it is made on first use,
    so a cold start that never touches S3 (reading a job) never pays for it. ``guard``, if
    given, is installed on the client to keep its calls inside the request's deadline."""

    def __init__(
        self,
        client: S3Client | Callable[[], S3Client],
        bucket: str,
        *,
        part_bytes: int = PART_BYTES,
        guard: AttemptGuard | None = None,
    ) -> None:
        self._factory: Callable[[], S3Client] | None = client if callable(client) else None
        self._guard = guard
        self._client: S3Client | None = None
        if not callable(client):
            self._client = self._guarded(client)
        self._lock = threading.Lock()
        self.bucket = bucket
        self._part_bytes = part_bytes

    @property
    def client(self) -> S3Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    assert self._factory is not None
                    self._client = self._guarded(self._factory())
        return self._client

    def _guarded(self, client: S3Client) -> S3Client:
        if self._guard is not None:
            self._guard.install(client)
        return client

    @property
    def _s3(self) -> S3Client:
        return self.client

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> int:
        buffer = bytearray()
        total = 0
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        try:
            for chunk in chunks:
                total += len(chunk)
                if total > max_bytes:
                    raise FileTooLarge(
                        f"The object is larger than {max_bytes} bytes.", max_bytes=max_bytes
                    )
                buffer += chunk
                if len(buffer) >= self._part_bytes:
                    if upload_id is None:
                        upload_id = self._s3.create_multipart_upload(
                            Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256"
                        )["UploadId"]
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
                    buffer = bytearray()
            if upload_id is None:
                self._s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=bytes(buffer),
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=_sha256_b64(buffer),
                )
            else:
                if buffer:
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
                self._s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException as error:
            if upload_id is not None:
                self._abort(key, upload_id)
            if isinstance(error, ClientError | BotoCoreError):
                raise_translated(error, _WHAT)
            raise
        return total

    def _upload_part(
        self, key: str, upload_id: str, number: int, data: bytearray
    ) -> CompletedPartTypeDef:
        answer = self._s3.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=bytes(data),
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=_sha256_b64(data),
        )
        return {
            "PartNumber": number,
            "ETag": answer["ETag"],
            "ChecksumSHA256": answer.get("ChecksumSHA256", _sha256_b64(data)),
        }

    def _abort(self, key: str, upload_id: str) -> None:
        # If even the abort fails (or finds no time left), the bucket's lifecycle rule removes
        # the abandoned upload.
        with contextlib.suppress(ClientError, BotoCoreError, ServiceUnavailable), finishing():
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        if length == 0:
            return b""
        with self._errors(missing=key):
            try:
                answer = self._s3.get_object(
                    Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
                )
            except ClientError as error:
                if error_code(error) == "InvalidRange":  # starts past the end
                    return b""
                raise
            data: bytes = answer["Body"].read()
        return data

    def size(self, key: str) -> int | None:
        with self._errors():
            try:
                answer = self._s3.head_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if error_code(error) in _MISSING or http_status(error) == 404:
                    return None
                raise
        return int(answer["ContentLength"])

    def stream(self, key: str, chunk_bytes: int) -> Iterator[bytes]:
        with self._errors(missing=key):
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(chunk_bytes)
            finally:
                body.close()

    def copy(self, source: str, target: str) -> None:
        with self._errors(missing=source):
            self._s3.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": source},
                ChecksumAlgorithm="SHA256",
            )

    def presign_upload(self, key: str, size_bytes: int, expires_in_seconds: int) -> UploadForm:
        """A presigned POST: the policy pins the key and the exact size, and expires.

        The client must be configured for Signature Version 4 (see ``entrypoints.aws``): S3
        refuses SigV2 forms for buckets created since June 2020 and for KMS-encrypted objects.
        """
        answer = self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Conditions=[["content-length-range", size_bytes, size_bytes]],
            ExpiresIn=expires_in_seconds,
        )
        return UploadForm(str(answer["url"]), {k: str(v) for k, v in answer["fields"].items()})

    def checksum_sha256(self, key: str) -> str | None:
        """The SHA-256 S3 verified for the object, base64 (composite for multipart)."""
        answer = self._s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        value = answer.get("ChecksumSHA256")
        return str(value) if value is not None else None

    def delete(self, key: str) -> None:
        # Deleting is how a request removes what it will not keep: it may use the reserve.
        with self._errors(), finishing():
            self._s3.delete_object(Bucket=self.bucket, Key=key)

    def ping(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            raise ServiceUnavailable(
                f"The blueprint bucket {self.bucket!r} is not reachable "
                f"({error_code(error) or http_status(error)})."
            ) from None
        except BotoCoreError as error:
            raise_translated(error, _WHAT)

    def create_bucket(self, region: str | None) -> None:
        """Create the bucket if it does not exist (for local endpoints and tests)."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError:
            pass
        if region and region != "us-east-1":
            # The stubs list the regions they knew of; S3 itself refuses one it does not know.
            constraint = cast("BucketLocationConstraintType", region)
            self._s3.create_bucket(
                Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": constraint}
            )
        else:
            self._s3.create_bucket(Bucket=self.bucket)

    @contextlib.contextmanager
    def _errors(self, missing: str | None = None) -> Iterator[None]:
        """botocore's errors in the domain's words: a missing object (when ``missing`` names
        the key asked for) is ``BlobNotFound``, a fault that outlasted the retries is
        ``ServiceUnavailable``, anything else goes on as it is."""
        try:
            yield
        except (ClientError, BotoCoreError) as error:
            if missing is not None and error_code(error) in _MISSING:
                raise BlobNotFound("No object under this key.", key=missing) from None
            raise_translated(error, _WHAT)
