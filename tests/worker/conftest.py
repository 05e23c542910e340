from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.worker.harness import Local


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., Local]]:
    """``make(name, **settings)``: the composition with a worker running that detector."""
    made: list[Local] = []

    def making(name: str, **settings: Any) -> Local:
        made.append(Local(tmp_path, name, **settings))
        return made[-1]

    yield making
    for local in made:
        local.worker.stop()


@pytest.fixture
def local(make: Callable[..., Local]) -> Local:
    return make("rooms")
