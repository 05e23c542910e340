"""What ``make build-ApiFunction`` puts in the artifact, and that it does so reproducibly."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.artifact.running import build
from tools.artifact import (
    LOCAL_ONLY,
    LOCK,
    PACKAGES,
    ROOT,
    ZIP_EPOCH,
    Interpreter,
    files,
    zipped,
)

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


def _digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in files(root)
    }


def test_every_module_is_compiled_for_the_runtime_and_checked_by_nothing(
    artifact: Path, lambda_python: Interpreter
) -> None:
    tag = f"cpython-{lambda_python.version[0]}{lambda_python.version[1]}"
    sources = [path for path in files(artifact) if path.suffix == ".py"]
    compiled = [path for path in files(artifact) if path.suffix == ".pyc"]
    assert len(sources) > 100
    assert sorted(compiled) == sorted(
        source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc" for source in sources
    )
    for path in compiled:
        header = path.read_bytes()[:16]
        # PEP 552: flags 0b01 are hash-based and never checked against the source, which on
        # Lambda has no usable mtime and sits on a read-only disk.
        assert int.from_bytes(header[4:8], "little") == 0b01, path


def test_it_holds_the_handler_and_its_dependencies_and_nothing_else(artifact: Path) -> None:
    names = {path.name for path in artifact.iterdir()}
    assert set(PACKAGES) <= names
    assert {"botocore", "pynamodb", "attr", "attrs", "urllib3", "dateutil", "jmespath"} <= names
    assert not names & {"bin", "tests", "bench", "tools", "boto3", "falcon", "cheroot"}
    relative = [path.relative_to(artifact).as_posix() for path in files(artifact)]
    assert not set(LOCAL_ONLY) & set(relative)
    assert not [name for name in relative if name.endswith((".so", ".pyd", ".pyi", "py.typed"))]
    metadata = [name for name in relative if ".dist-info/" in name]
    for name in metadata:
        inside = name.split(".dist-info/", 1)[1]
        assert inside == "METADATA" or re.match(r"(licenses/|LICEN|NOTICE)", inside), name
    assert sum(name.endswith(".dist-info/METADATA") for name in metadata) == len(
        [line for line in LOCK.read_text().splitlines() if "==" in line]
    )
    assert all(path.stat().st_mtime == ZIP_EPOCH for path in files(artifact))


def test_the_zipped_artifact_is_small(artifact: Path, tmp_path: Path) -> None:
    assert zipped(artifact, tmp_path / "function.zip") <= 5 * MIB


def test_two_builds_hold_the_same_bytes(
    artifact: Path, lambda_python: Interpreter, tmp_path: Path
) -> None:
    again = build(tmp_path / "again", lambda_python)
    assert _digests(again) == _digests(artifact)


def test_the_lock_pins_every_dependency_within_pyproject_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    wanted += [Requirement(text) for text in project["optional-dependencies"]["aws"]]
    entries = re.findall(
        r"^([A-Za-z0-9_.-]+)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)",
        LOCK.read_text(),
        re.M,
    )
    pins = {name.lower().replace("_", "-"): Version(version) for name, version, _ in entries}
    assert len(entries) == len([line for line in LOCK.read_text().splitlines() if "==" in line])
    for requirement in wanted:
        assert requirement.name in pins, requirement
        assert pins[requirement.name] in requirement.specifier, (requirement, pins)
