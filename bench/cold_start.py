"""Cold start of the Lambda entrypoint against the floor any boto3 Lambda pays.

Each sample is a fresh Python process, timed from spawn to exit:
- floor:  imports boto3 and creates a DynamoDB and an S3 client (nothing else);
- memory: imports entrypoints.lambda_api and answers one API Gateway v2 event (GET a job) with
          in-memory storage;
- aws:    the same with the AWS adapters, against a moto server holding the job.
Reports the median wall time of each as a ratio to the floor's, and peak RSS (ru_maxrss).

    .venv/bin/python bench/cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.servers import free_port, running

REGION = "eu-west-1"
JOB_ID = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"

FLOOR = """
import resource, boto3
boto3.client("dynamodb", region_name="eu-west-1")
boto3.client("s3", region_name="eu-west-1")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

HANDLER = f"""
import resource, sys
from entrypoints import lambda_api
event = {{"version": "2.0", "routeKey": "$default", "rawPath": "/api/v1/jobs/{JOB_ID}",
    "rawQueryString": "", "headers": {{"host": "x.execute-api.eu-west-1.amazonaws.com"}},
    "requestContext": {{"http": {{"method": "GET", "path": "/api/v1/jobs/{JOB_ID}"}},
    "requestId": "r1"}}, "isBase64Encoded": False}}
result = lambda_api.handler(event, None)
assert result["statusCode"] in (200, 404), result
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def sample(code: str, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    return elapsed, int(done.stdout.strip().splitlines()[-1])


def seed_job(env: dict[str, str]) -> None:
    """Create the table and bucket on the moto server and put one job in it."""
    code = f"""
from datetime import UTC, datetime
from domain.blueprint import BlueprintFacts, BlueprintFormat
from domain.job import Job
from entrypoints.aws import init_storage, job_store
from entrypoints.settings import Settings
import os
settings = Settings.from_env(dict(os.environ), profile="lambda")
init_storage(settings)
job_store(settings).add(Job.create(job_id="{JOB_ID}", now=datetime.now(UTC),
    blueprint=BlueprintFacts(BlueprintFormat.PNG, "a" * 64, 1234), blueprint_key="k",
    request_id="req_20261126_031500_k3j9x2m1q8zp", correlation_id="c", api_version="v1"))
"""
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
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
    memory = {"BLUEPRINT_JOBS_STORAGE": "memory", "BLUEPRINT_JOBS_LOG_LEVEL": "WARNING"}
    server = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(server, f"{endpoint}/moto-api/"):
        seed_job(aws)
        kinds = {"floor": (FLOOR, aws), "memory": (HANDLER, memory), "aws": (HANDLER, aws)}
        results: dict[str, list[tuple[float, int]]] = {kind: [] for kind in kinds}
        for _ in range(args.runs):  # interleaved, so drift on a shared machine hits all alike
            for kind, (code, env) in kinds.items():
                results[kind].append(sample(code, env))
    floor = statistics.median(t for t, _ in results["floor"])
    print(f"{'process':<8} {'median ms':>10} {'x floor':>8} {'peak RSS MiB':>13}")
    summary = {}
    for kind, runs in results.items():
        wall = statistics.median(t for t, _ in runs)
        rss = statistics.median(r for _, r in runs) / 1024
        summary[kind] = {"ms": round(wall * 1000, 1), "x_floor": round(wall / floor, 3)}
        print(f"{kind:<8} {wall * 1000:>10.1f} {wall / floor:>8.3f} {rss:>13.1f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
