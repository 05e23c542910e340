"""The deadline of the request being served: the instant by which its answer must be on its way.

``Api.handle`` binds it for the duration of a request, from the time the platform leaves (a
Lambda's remaining time, less a margin to answer) and the configured budget, whichever ends
first. The AWS adapters are given ``remaining`` by the composition root and check it before
every attempt of every call. Outside a request (a command, the detection pipeline's side)
there is no deadline and ``remaining`` is None.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar, Token

Monotonic = Callable[[], float]


class Deadline:
    __slots__ = ("expires", "monotonic")

    def __init__(self, expires: float, monotonic: Monotonic) -> None:
        self.expires = expires
        self.monotonic = monotonic

    def remaining(self) -> float:
        return self.expires - self.monotonic()


_current: ContextVar[Deadline | None] = ContextVar("blueprint_jobs_deadline", default=None)


def start(budget_seconds: float, monotonic: Monotonic = time.monotonic) -> Token[Deadline | None]:
    """Bind a deadline ``budget_seconds`` from now; ``finish`` with the token returned."""
    return _current.set(Deadline(monotonic() + budget_seconds, monotonic))


def finish(token: Token[Deadline | None]) -> None:
    _current.reset(token)


def remaining() -> float | None:
    """Seconds left before the current request must answer; None outside a request."""
    current = _current.get()
    return None if current is None else current.remaining()
