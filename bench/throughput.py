"""Local server throughput: GET a job with 16 concurrent connections (wrk), against a bare
Falcon app that returns a fixed JSON body of the same size, under the same WSGI server
(cheroot, with the local server's own set-up) and the same thread count. Rounds alternate
between the two servers.

    apt-get install wrk
    .venv/bin/python bench/throughput.py [--rounds 3 --seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain import api_keys
from entrypoints.cli import SERVER_THREADS
from tests.blueprints import png
from tests.e2e.servers import cli, free_port, wait_until_up

# The development key the server is given: every GET is authenticated, as a client's is.
KEY = api_keys.new_secret(bytes(range(api_keys.RANDOM_BYTES)))
AUTH = f"Authorization: Bearer {KEY}"

BARE = """
import sys, falcon
from entrypoints.local_server import make_server
BODY = open(sys.argv[2], "rb").read()
class Job:
    def on_get(self, req, resp, job_id):
        resp.data = BODY
        resp.content_type = "application/json"
app = falcon.App()
app.add_route("/api/v1/jobs/{job_id}", Job())
app.add_route("/health", Job())
server = make_server(app, "127.0.0.1", int(sys.argv[1]), int(sys.argv[3]))
try:
    server.start()
finally:
    server.stop()
"""


@contextmanager
def server(command: list[str], url: str) -> Iterator[None]:
    process = subprocess.Popen(  # output discarded: a full pipe would stall the server
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BLUEPRINT_JOBS_DEV_API_KEY": KEY},
    )
    try:
        wait_until_up(url, process)  # type: ignore[arg-type]
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)  # a loaded machine may take a while to stop the threads


def wrk(url: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-H", AUTH, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert found, out
    assert errors is None, out
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    ours: list[float] = []
    bare: list[float] = []
    body_file = Path("/tmp/blueprint-jobs-bench-body.json")
    for _ in range(args.rounds):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [*cli(), "serve", "--port", str(port), "--threads", str(SERVER_THREADS)]
        with server(command, f"{base}/health"):
            created = requests.post(
                f"{base}/api/v1/jobs",
                data=png(),
                headers={"Content-Type": "image/png", "Authorization": f"Bearer {KEY}"},
                timeout=10,
            )
            job_url = created.headers["Location"]
            fetched = requests.get(
                f"{base}{job_url}", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
            )
            body_file.write_bytes(fetched.content)
            time.sleep(0.5)
            ours.append(wrk(f"{base}{job_url}", args.seconds))
        port = free_port()
        bare_command = [sys.executable, "-c", BARE, str(port), str(body_file), str(SERVER_THREADS)]
        with server(bare_command, f"http://127.0.0.1:{port}/health"):
            time.sleep(0.5)
            bare.append(wrk(f"http://127.0.0.1:{port}{job_url}", args.seconds))
    mine, theirs = statistics.median(ours), statistics.median(bare)
    print(f"body: {body_file.stat().st_size} bytes; {SERVER_THREADS} cheroot threads")
    print(f"ours       {mine:>9.0f} req/s   (rounds: {', '.join(f'{x:.0f}' for x in ours)})")
    print(f"bare falcon{theirs:>9.0f} req/s   (rounds: {', '.join(f'{x:.0f}' for x in bare)})")
    print(f"ours / bare falcon: {mine / theirs:.3f}")


if __name__ == "__main__":
    main()
