"""Who is calling: an owner and what it may do.

Every job, upload session, feedback entry and idempotency key belongs to the owner whose
principal created it. An owner id is an API key's owner or a JWT's ``sub``: 1..128 visible
ASCII characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from attrs import field, frozen

JOBS_READ = "jobs:read"
JOBS_WRITE = "jobs:write"
SCOPES = (JOBS_READ, JOBS_WRITE)

OWNER = re.compile(r"[\x21-\x7e]{1,128}")


def scope_set(names: Iterable[str]) -> frozenset[str]:
    return frozenset(names)


def is_owner(value: object) -> bool:
    return isinstance(value, str) and OWNER.fullmatch(value) is not None


def _owner(_: object, __: object, value: str) -> None:
    if not is_owner(value):
        raise ValueError("an owner id is 1..128 visible ASCII characters")


@frozen
class Principal:
    """An authenticated caller. ``via`` says how it was authenticated (``api_key`` or
    ``jwt``); ``key_id`` names the API key, never its secret."""

    owner: str = field(validator=_owner)
    scopes: frozenset[str] = field(converter=scope_set)
    via: str = "api_key"
    key_id: str | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def known_scopes(names: Iterable[str]) -> frozenset[str]:
    """The scopes of ``names`` that this service knows; others mean nothing here. A scope may
    be qualified by its resource server, as Cognito names custom scopes
    (``https://api.example.com/jobs:read``): its last segment is the scope."""
    return frozenset(
        scope for name in names for scope in SCOPES if name == scope or name.endswith("/" + scope)
    )
