"""Every error the code can raise has an HTTP meaning, chosen on purpose and documented.

The errors are found by walking the packages and the ``DomainError`` class tree, not by
reading the status table, so a new error without a status fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import adapters
import domain
import entrypoints
import ports
from domain.errors import DomainError
from entrypoints.http.errors import CLIENT_CODES, STATUS_BY_CODE, HttpProblem

ABSTRACT = {DomainError, HttpProblem}  # bases that are never raised themselves
API_DOC = Path(__file__).parents[2] / "docs" / "API.md"


def _every_error_class() -> set[type[DomainError]]:
    for package in (domain, ports, adapters, entrypoints):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: set[type[DomainError]] = set()
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return {cls for cls in found - ABSTRACT if cls.__module__.split(".")[0] != "tests"}


ERRORS = sorted(_every_error_class(), key=lambda cls: cls.__qualname__)


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"JobNotFound", "BlobNotFound", "UploadAlreadyUsed", "MethodNotAllowed"} <= names
    assert "IdempotencyKeyInUse" in names


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_code_has_a_status(error: type[DomainError]) -> None:
    assert error.code in STATUS_BY_CODE, f"{error.__name__} ({error.code}) has no HTTP status"


def test_every_code_a_client_can_meet_is_in_the_api_documents_error_table() -> None:
    table = API_DOC.read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z_]+)`", table))
    assert set(CLIENT_CODES) <= documented
    for code in documented:
        row = next(line for line in table.splitlines() if f"`{code}`" in line)
        assert row.startswith(f"| {STATUS_BY_CODE[code]} |"), (code, row)
