"""Cold start of the function as AWS runs it, against the floor any boto3 function pays.

Every sample is a fresh process of the template's Python (python3.13), timed from spawn to
exit, run with -I (nothing from the environment) and -B (Lambda's code directory is
read-only, so nothing is ever written back):
- floor:  boto3 (of the locked botocore's version), installed into a throwaway directory and
          compiled normally, as the runtime's own boto3 is, creating a DynamoDB and an S3
          client (nothing else);
- memory: the artifact of `make build-ApiFunction`, with every mtime at 1980-01-01 as SAM's
          zip leaves it, importing entrypoints.lambda_api and answering one API Gateway v2
          event (GET a job, with an API key) with in-memory storage;
- aws:    the same with the AWS adapters, against a moto server holding the job and the key
          (so the cold start looks the key up too).
Reports the median wall time of each as a ratio to the floor's, peak RSS (ru_maxrss), and the
artifact's size zipped as SAM zips it. The kinds are interleaved, so drift on a shared machine
hits all alike.

    .venv/bin/python bench/cold_start.py [--runs 15] [--artifact DIR] [--importtime 25]

--artifact measures a directory built elsewhere (for instance the old way, to compare);
--importtime N also prints the N slowest imports (cumulative) of one aws cold start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain import api_keys
from tests.e2e.servers import free_port, running
from tools.artifact import LOCK, Interpreter, build, find_python, reset_mtimes, zipped

REGION = "eu-west-1"
JOB_ID = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"
KEY = api_keys.new_secret(bytes(range(api_keys.RANDOM_BYTES)))

FLOOR = """
import resource, sys
sys.path.insert(0, {path!r})
import boto3
boto3.client("dynamodb", region_name="eu-west-1")
boto3.client("s3", region_name="eu-west-1")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

HANDLER = """
import resource, sys
sys.path.insert(0, {path!r})
from entrypoints import lambda_api
event = {{"version": "2.0", "routeKey": "$default", "rawPath": "/api/v1/jobs/{job}",
    "rawQueryString": "", "headers": {{"host": "x.execute-api.eu-west-1.amazonaws.com",
    "authorization": "Bearer {key}"}},
    "requestContext": {{"http": {{"method": "GET", "path": "/api/v1/jobs/{job}"}},
    "requestId": "r1"}}, "isBase64Encoded": False}}
result = lambda_api.handler(event, None)
assert result["statusCode"] == {status}, result
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def handler(artifact: Path, status: int) -> str:
    return HANDLER.format(path=str(artifact), job=JOB_ID, status=status, key=KEY)


def sample(python: Interpreter, code: str, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [python.path, "-I", "-B", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    return elapsed, int(done.stdout.strip().splitlines()[-1])


def install_floor(python: Interpreter, target: Path) -> None:
    """boto3 as the runtime has it: the locked botocore, bytecode valid for its files."""
    botocore = re.search(r"^botocore==(\S+)", LOCK.read_text(), re.M)
    assert botocore is not None
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
            "--only-binary=:all:", "--python-version", "{}.{}".format(*python.version),
            "--target", str(target), f"boto3=={botocore.group(1)}",
            f"botocore=={botocore.group(1)}",
        ],
        check=True,
    )  # fmt: skip
    subprocess.run([python.path, "-I", "-m", "compileall", "-q", str(target)], check=True)


def seed_job(env: dict[str, str]) -> None:
    """Create the table and bucket on the moto server and put one job and its owner's key
    in it."""
    code = f"""
from datetime import UTC, datetime
from domain.blueprint import BlueprintFacts, BlueprintFormat
from domain.job import Job
from entrypoints.aws import aws_service, init_storage, job_store
from entrypoints.settings import Settings
import os
settings = Settings.from_env(dict(os.environ), profile="lambda")
init_storage(settings)
aws_service(settings).access.create_key("bench", "bench", ["jobs:read"], secret="{KEY}")
job_store(settings).add(Job.create(job_id="{JOB_ID}", owner="bench", now=datetime.now(UTC),
    blueprint=BlueprintFacts(BlueprintFormat.PNG, "a" * 64, 1234), blueprint_key="k",
    request_id="req_20261126_031500_k3j9x2m1q8zp", correlation_id="c", api_version="v1"))
"""
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True)


def import_times(python: Interpreter, code: str, env: dict[str, str], top: int) -> None:
    done = subprocess.run(
        [python.path, "-I", "-B", "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if found:
            rows.append((int(found.group(2)), len(found.group(3)) // 2, found.group(4)))
    print("\nslowest imports of one aws cold start (cumulative us, nesting level, module):")
    for cumulative, level, module in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative:>9} {level:>3}  {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--artifact", type=Path, help="an artifact already built")
    parser.add_argument("--importtime", type=int, default=0, metavar="N")
    args = parser.parse_args()
    python = find_python(os.environ.get("LAMBDA_PYTHON"))
    if not python.is_runtime:
        print(f"warning: python3.13 not found; measuring on {python.name}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        artifact = args.artifact or work / "artifact"
        if args.artifact is None:
            build(artifact, python)
        reset_mtimes(artifact)  # as SAM's zip leaves them
        size = zipped(artifact, work / "function.zip")
        install_floor(python, work / "floor")

        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        aws = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "BLUEPRINT_JOBS_STORAGE": "aws",
            "BLUEPRINT_JOBS_LOG_LEVEL": "WARNING",
        }
        memory = {
            "BLUEPRINT_JOBS_STORAGE": "memory",
            "BLUEPRINT_JOBS_LOG_LEVEL": "WARNING",
            "BLUEPRINT_JOBS_DEV_API_KEY": KEY,  # the development key: no job, so a 404
        }
        floor = FLOOR.format(path=str(work / "floor"))
        server = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        with running(server, f"{endpoint}/moto-api/"):
            seed_job(aws)
            kinds = {
                "floor": (floor, aws),
                "memory": (handler(artifact, 404), memory),
                "aws": (handler(artifact, 200), aws),
            }
            results: dict[str, list[tuple[float, int]]] = {kind: [] for kind in kinds}
            for _ in range(args.runs):
                for kind, (code, env) in kinds.items():
                    results[kind].append(sample(python, code, env))
            if args.importtime:
                import_times(python, kinds["aws"][0], aws, args.importtime)
    base = statistics.median(t for t, _ in results["floor"])
    print(f"\n{python.name}, {args.runs} runs of each, medians")
    print(f"{'process':<8} {'median ms':>10} {'x floor':>8} {'peak RSS MiB':>13}")
    summary: dict[str, object] = {}
    for kind, runs in results.items():
        wall = statistics.median(t for t, _ in runs)
        rss = statistics.median(r for _, r in runs) / 1024
        summary[kind] = {"ms": round(wall * 1000, 1), "x_floor": round(wall / base, 3)}
        print(f"{kind:<8} {wall * 1000:>10.1f} {wall / base:>8.3f} {rss:>13.1f}")
    print(f"artifact zipped: {size / 2**20:.2f} MiB ({size} bytes)")
    summary["zipped_bytes"] = size
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
