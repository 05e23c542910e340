"""The Lambda functions' artifact: built for the runtime that runs it, and only what they load.

Every function of the template (the API, the outbox, the progress consumer, the sweeper) runs
this one artifact with a handler of its own.

    python tools/artifact.py build OUT [--python python3.13]  # `make build-<Function>`
    python tools/artifact.py lock [--upgrade]                  # `make lock`
    python tools/artifact.py python [--python python3.13]      # the Python a build would use

A build

- installs the dependencies pinned, with hashes, in ``requirements/lambda.txt`` (wheels only,
  resolved for the template's Python), so two builds hold the same bytes;
- copies the project's four packages, less the modules only the local server and the CLI use;
- keeps of botocore's data only the files the functions open (three services of 449) and of
  each distribution's metadata only ``METADATA`` and the licences; drops console scripts and
  type stubs;
- compiles every module with the template's Python (``Runtime`` in template.yaml) in
  ``unchecked-hash`` mode: the deployed files carry no usable mtime (SAM's zip sets them all to
  1980-01-01) and /var/task is read-only, so without this Lambda compiles every module on every
  cold start. The code objects name their files under /var/task, where Lambda unpacks them;
- sets every mtime to 1980-01-01, as SAM's zip will.

The template's Python is found as ``--python`` (``LAMBDA_PYTHON`` in the Makefile, by default
``python3.13``), else under pyenv; failing both, the build uses the Python running it, says so,
and compiles for that one (the function's runtime then ignores the bytecode).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LOCK = ROOT / "requirements" / "lambda.txt"
# Where Lambda unpacks the function's code: the compiled modules name their files there.
TASK_ROOT = "/var/task"
# SAM's zip gives every entry this time (the earliest a zip can hold).
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z

PACKAGES = ("domain", "ports", "adapters", "entrypoints")
# Modules of the local server, its JWT verifier and the CLI: the handler never imports them (a
# test runs the artifact, where importing them would fail).
LOCAL_ONLY = frozenset(
    {
        "entrypoints/cli.py",
        "entrypoints/falcon_app.py",
        "entrypoints/jwt_verifier.py",
        "entrypoints/local_server.py",
    }
)

# What botocore opens under botocore/data while the API's DynamoDB and S3 clients serve every
# route, and the pipeline's functions send to SQS (traced with an audit hook on "open"; the
# artifact tests check that each function opens exactly its own). The standard retry mode
# never reads _retry.json; examples, paginators and waiters serve documentation and helpers we
# do not use. Lambda's mappings, not the code, read the stream and the updates queue.
_RULES, _MODEL = "endpoint-rule-set-1.json.gz", "service-2.json.gz"
BOTOCORE_COMMON = ("endpoints.json", "partitions.json", "sdk-default-configuration.json")
BOTOCORE_DYNAMODB = (f"dynamodb/2012-08-10/{_RULES}", f"dynamodb/2012-08-10/{_MODEL}")
_S3_EXTRAS = "s3/2006-03-01/service-2.sdk-extras.json"
BOTOCORE_S3 = (f"s3/2006-03-01/{_RULES}", f"s3/2006-03-01/{_MODEL}", _S3_EXTRAS)
BOTOCORE_SQS = (f"sqs/2012-11-05/{_RULES}", f"sqs/2012-11-05/{_MODEL}")
BOTOCORE_DATA = BOTOCORE_COMMON + BOTOCORE_DYNAMODB + BOTOCORE_S3 + BOTOCORE_SQS
# The services of endpoints.json the functions call; the file (1.2 MB, 22 ms to parse) lists
# every service in every region, and only these entries are ever looked up.
ENDPOINT_SERVICES = ("dynamodb", "s3", "sqs")
# Of each installed distribution's metadata: what importlib.metadata reads, and the licences
# the code is distributed under.
_KEPT_METADATA = re.compile(r"METADATA|(LICEN[CS]E|NOTICE|COPYING|AUTHORS)[^/]*|licenses/.+")


class BuildError(Exception):
    pass


def runtime_version() -> tuple[int, int]:
    """The Python of the function, from template.yaml's ``Runtime: python3.X``."""
    found = re.search(r"^\s*Runtime:\s*python(\d+)\.(\d+)\s*$", TEMPLATE.read_text(), re.M)
    if found is None:
        raise BuildError(f"no 'Runtime: python3.X' in {TEMPLATE}")
    return int(found.group(1)), int(found.group(2))


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int]
    is_runtime: bool  # the template's Python, so the bytecode is what Lambda will load

    @property
    def name(self) -> str:
        return f"Python {self.version[0]}.{self.version[1]} ({self.path})"


def _version_of(command: str) -> tuple[int, int] | None:
    path = shutil.which(command)
    if path is None:
        return None
    try:
        answer = subprocess.run(
            [path, "-I", "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        major, minor = answer.stdout.split()
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None  # e.g. a pyenv shim of a version that is not selected


def _pyenv_candidates(version: tuple[int, int]) -> list[str]:
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    found: list[str] = []
    for root in filter(None, roots):
        versions = Path(root) / "versions"
        if versions.is_dir():
            tag = f"{version[0]}.{version[1]}"
            for candidate in sorted(versions.glob(f"{tag}.*"), reverse=True):
                found.append(str(candidate / "bin" / f"python{tag}"))
    return found


def find_python(requested: str | None = None) -> Interpreter:
    """The template's Python: ``requested`` (default ``python3.<minor>``), else under pyenv;
    else the Python running this, marked as not the runtime's."""
    version = runtime_version()
    default = f"python{version[0]}.{version[1]}"
    for candidate in [requested or default, *_pyenv_candidates(version)]:
        if _version_of(candidate) == version:
            return Interpreter(str(shutil.which(candidate)), version, is_runtime=True)
    here = (sys.version_info[0], sys.version_info[1])
    return Interpreter(sys.executable, here, is_runtime=here == version)


def _pip_install(out: Path, version: tuple[int, int]) -> None:
    """The locked wheels, resolved for ``version``: with --require-hashes pip refuses any
    distribution (dependencies included) the lock does not pin with its hash."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--require-hashes", "--only-binary=:all:",
        # What is installed next to the Python running pip is not the artifact's business.
        "--no-warn-conflicts", "--root-user-action=ignore", "--disable-pip-version-check",
        "--python-version", f"{version[0]}.{version[1]}",
        "--target", str(out), "--requirement", str(LOCK),
    ]  # fmt: skip
    subprocess.run(command, check=True)


def _copy_project(out: Path) -> None:
    for package in PACKAGES:
        for source in sorted((ROOT / package).rglob("*.py")):
            relative = source.relative_to(ROOT).as_posix()
            if relative in LOCAL_ONLY or "__pycache__" in relative:
                continue
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _prune(out: Path) -> None:
    shutil.rmtree(out / "bin", ignore_errors=True)  # console scripts (jmespath's jp.py)
    for path in sorted(out.rglob("*")):
        if path.suffix == ".pyi" or path.name == "py.typed":
            path.unlink()
    for info in sorted(out.glob("*.dist-info")):
        for path in sorted(info.rglob("*"), reverse=True):
            kept = _KEPT_METADATA.fullmatch(path.relative_to(info).as_posix())
            if path.is_file() and not kept:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    data = out / "botocore" / "data"
    missing = [name for name in BOTOCORE_DATA if not (data / name).is_file()]
    if missing:
        raise BuildError(f"botocore no longer ships {missing}: trace what it opens again")
    for path in sorted(data.rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(data).as_posix() not in BOTOCORE_DATA:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    _prune_endpoints(data / "endpoints.json")


def _prune_endpoints(path: Path) -> None:
    """endpoints.json with the services the function calls, every partition and region kept."""
    document = json.loads(path.read_bytes())
    for partition in document["partitions"]:
        services = partition["services"]
        partition["services"] = {
            name: entry for name, entry in services.items() if name in ENDPOINT_SERVICES
        }
    path.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


def _compile(out: Path, python: Interpreter) -> None:
    command = [
        python.path, "-I", "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash", "-s", str(out), "-p", TASK_ROOT, str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)


def reset_mtimes(root: Path, moment: int = ZIP_EPOCH) -> None:
    for path in [*root.rglob("*"), root]:
        os.utime(path, (moment, moment), follow_symlinks=False)


def build(out: Path, python: Interpreter) -> None:
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        raise BuildError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    _pip_install(out, python.version)
    _copy_project(out)
    _prune(out)
    _compile(out, python)
    reset_mtimes(out)


def files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def zipped(root: Path, target: Path) -> int:
    """Zip ``root`` as SAM does (deflated, every entry at 1980-01-01); the zip's size."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files(root):
            entry = zipfile.ZipInfo(path.relative_to(root).as_posix(), (1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
    return target.stat().st_size


def lock(upgrade: bool) -> None:
    """requirements/lambda.txt from the aws extra, for the template's Python on arm64."""
    version = runtime_version()
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise BuildError("uv is not installed: pip install uv")
    command = [
        uv, "pip", "compile", str(ROOT / "pyproject.toml"), "--extra", "aws",
        "--generate-hashes", "--python-version", f"{version[0]}.{version[1]}",
        "--python-platform", "aarch64-manylinux_2_28",
        "--custom-compile-command", "make lock", "--output-file", str(LOCK),
    ]  # fmt: skip
    subprocess.run([*command, *(["--upgrade"] if upgrade else [])], check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("build", help="build the artifact into OUT")
    making.add_argument("out", type=Path)
    making.add_argument("--python", help="the template's Python (default python3.X)")
    locking = commands.add_parser("lock", help="regenerate requirements/lambda.txt")
    locking.add_argument("--upgrade", action="store_true", help="move every pin to the newest")
    finding = commands.add_parser("python", help="print the interpreter a build would use")
    finding.add_argument("--python")
    args = parser.parse_args(argv)
    try:
        if args.command == "lock":
            lock(args.upgrade)
            return 0
        python = find_python(args.python or None)
        if args.command == "python":
            print(python.path)
            return 0 if python.is_runtime else 1
        if not python.is_runtime:
            version = runtime_version()
            print(
                f"warning: python{version[0]}.{version[1]} (the template's runtime) not found; "
                f"bytecode compiled for {python.name}, which Lambda will not use",
                file=sys.stderr,
            )
        build(args.out, python)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
