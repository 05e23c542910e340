"""``blueprint-jobs keys`` in process, on moto: the answers an operator reads when something
is wrong (the end-to-end runs are in tests/e2e/test_keys_cli.py)."""

from __future__ import annotations

import pytest

from entrypoints import cli
from entrypoints.aws import init_storage
from entrypoints.settings import Settings
from tests.aws import moto_in_process

ENV = {"BLUEPRINT_JOBS_STORAGE": "aws", "AWS_REGION": "eu-west-1"}


def _run(monkeypatch: pytest.MonkeyPatch, *argv: str, table: str) -> int:
    for name, value in {**ENV, "BLUEPRINT_JOBS_TABLE": table}.items():
        monkeypatch.setenv(name, value)
    return cli.main(list(argv))


def test_a_missing_table_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with moto_in_process(monkeypatch):
        assert _run(monkeypatch, "keys", "list", table="no-such-table") == 1
    err = capsys.readouterr().err
    assert err.startswith("blueprint-jobs: the key store (table 'no-such-table')")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_keys_are_made_listed_and_revoked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with moto_in_process(monkeypatch):
        for name, value in {**ENV, "BLUEPRINT_JOBS_TABLE": "keys-cli"}.items():
            monkeypatch.setenv(name, value)
        init_storage(Settings.from_env({**ENV, "BLUEPRINT_JOBS_TABLE": "keys-cli"}, "lambda"))
        assert (
            _run(monkeypatch, "keys", "create", "--owner", "o", "--name", "n", table="keys-cli")
            == 0
        )
        made = capsys.readouterr().out.splitlines()
        key_id, secret = made[0].split()[0], made[1].removeprefix("secret: ")
        assert _run(monkeypatch, "keys", "list", table="keys-cli") == 0
        listed = capsys.readouterr().out
        assert key_id in listed and secret not in listed and "revoked=-" in listed
        assert _run(monkeypatch, "keys", "revoke", key_id, table="keys-cli") == 0
        capsys.readouterr()
        assert _run(monkeypatch, "keys", "list", table="keys-cli") == 0
        assert "revoked=-" not in capsys.readouterr().out
        assert (
            _run(monkeypatch, "keys", "revoke", "key_01m8axjtwxcbke50q5r5jqsab7", table="keys-cli")
            == 1
        )
