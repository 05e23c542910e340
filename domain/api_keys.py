"""API keys: the credentials of machine clients.

A key's secret is ``bjk_`` and 32 lowercase base32 characters: 26 random ones (130 bits) and a
6-character checksum of them (CRC-32), as GitHub's tokens carry one. The prefix lets secret
scanners and people recognise a leaked key; the checksum lets the service refuse a mistyped or
made-up key without a lookup. Only the secret's SHA-256 digest is stored: the secret itself is
shown once, when the key is made, and can never be read back.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from datetime import datetime

from attrs import evolve, field, frozen

from domain import ids
from domain.principals import SCOPES, Principal, is_owner, scope_set

PREFIX = "bjk_"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lowercase
RANDOM_CHARS = 26
CHECK_CHARS = 6
RANDOM_BYTES = 17  # 136 bits, of which 130 are used
SECRET_CHARS = len(PREFIX) + RANDOM_CHARS + CHECK_CHARS
SECRET = re.compile(rf"{PREFIX}[a-z2-7]{{{RANDOM_CHARS + CHECK_CHARS}}}")
KEY_ID = re.compile(r"key_[0-9a-hjkmnp-tv-z]{26}")
MAX_NAME = 100


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base32(zlib.crc32(body.encode("ascii")) & ((1 << 30) - 1), CHECK_CHARS)


def new_secret(random_bytes: bytes) -> str:
    if len(random_bytes) != RANDOM_BYTES:
        raise ValueError(f"a key needs {RANDOM_BYTES} random bytes")
    body = _base32(int.from_bytes(random_bytes, "big"), RANDOM_CHARS)
    return PREFIX + body + _checksum(body)


def well_formed(secret: str) -> bool:
    """Whether ``secret`` has the form of a key and a matching checksum (no lookup)."""
    if SECRET.fullmatch(secret) is None:
        return False
    body = secret[len(PREFIX) : len(PREFIX) + RANDOM_CHARS]
    return secret[-CHECK_CHARS:] == _checksum(body)


def digest_of(secret: str) -> str:
    """What is stored of a secret, and what it is looked up by."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_key_id(now: datetime, random_bytes: bytes) -> str:
    return "key_" + ids.ulid(now, random_bytes)


def _scopes(_: object, __: object, value: frozenset[str]) -> None:
    if not value or not value <= frozenset(SCOPES):
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}")


def _name(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME or not value.isprintable():
        raise ValueError(f"a key's name is 1..{MAX_NAME} printable characters")


@frozen
class ApiKey:
    key_id: str = field()
    digest: str
    owner: str = field()
    name: str = field(validator=_name)
    scopes: frozenset[str] = field(converter=scope_set, validator=_scopes)
    created_at: datetime
    revoked_at: datetime | None = None

    @key_id.validator
    def _check_id(self, _: object, value: str) -> None:
        if KEY_ID.fullmatch(value) is None:
            raise ValueError(f"not a key id: {value!r}")

    @owner.validator
    def _check_owner(self, _: object, value: str) -> None:
        if not is_owner(value):
            raise ValueError("an owner id is 1..128 visible ASCII characters")

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def revoked(self, now: datetime) -> ApiKey:
        return self if self.revoked_at is not None else evolve(self, revoked_at=now)

    def principal(self) -> Principal:
        return Principal(self.owner, self.scopes, "api_key", self.key_id)
