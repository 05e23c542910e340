"""A 50 MiB blueprint uploaded to the real local server, inline and through an upload session.

Prints, for each way, the wall time as a ratio to hashing 50 MiB in this process, and the
server's peak resident memory growth as a ratio to the file size. Each run starts a fresh
server (so its peak is that run's), and the median of the runs is reported.

    .venv/bin/python bench/upload.py [--runs 3]

Linux only: memory is read from /proc/<pid>/status (VmRSS before, VmHWM after).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain import api_keys
from tests.e2e.servers import cli, free_port, running

SIZE = 50 * 1024 * 1024


def blueprint() -> bytes:
    head = b"%PDF-1.7\n"
    return (
        head
        + bytes(range(256)) * ((SIZE - len(head)) // 256)
        + b"\x00" * ((SIZE - len(head)) % 256)
    )


KEY = api_keys.new_secret(bytes(range(api_keys.RANDOM_BYTES)))
AUTH = {"Authorization": f"Bearer {KEY}"}


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def inline(base: str, data: bytes) -> None:
    headers = {"Content-Type": "application/pdf", **AUTH}
    answer = requests.post(f"{base}/api/v1/jobs", data=data, headers=headers, timeout=300)
    assert answer.status_code == 201, answer.text


def session(base: str, data: bytes) -> None:
    opened = requests.post(
        f"{base}/api/v1/uploads",
        json={"format": "pdf", "size_bytes": len(data)},
        headers=AUTH,
        timeout=60,
    ).json()["data"]
    sent = requests.post(
        opened["url"], data=opened["fields"], files={"file": ("plan.pdf", data)}, timeout=300
    )
    assert sent.status_code == 204, sent.text
    created = requests.post(
        f"{base}/api/v1/jobs", json={"upload_id": opened["upload_id"]}, headers=AUTH, timeout=300
    )
    assert created.status_code == 201, created.text


def measure(way: Any, data: bytes) -> tuple[float, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "memory"]
    env = {"BLUEPRINT_JOBS_LOG_LEVEL": "WARNING", "BLUEPRINT_JOBS_DEV_API_KEY": KEY}
    with running(command, f"{base}/health", env=env) as srv:
        requests.get(f"{base}/health", timeout=10)
        before = memory_kib(srv.pid, "VmRSS")
        started = time.perf_counter()
        way(base, data)
        elapsed = time.perf_counter() - started
        peak = memory_kib(srv.pid, "VmHWM")
    return elapsed, (peak - before) * 1024 / len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = blueprint()
    hashes = []
    for _ in range(args.runs):
        started = time.perf_counter()
        hashlib.sha256(data).hexdigest()
        hashes.append(time.perf_counter() - started)
    hash_time = statistics.median(hashes)
    print(f"hashing 50 MiB in process: {hash_time * 1000:.1f} ms (median of {args.runs})")
    print(f"{'way':<10} {'wall ms':>9} {'x hashing':>10} {'peak RSS growth / file':>24}")
    for name, way in (("inline", inline), ("session", session)):
        runs = [measure(way, data) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        growth = statistics.median(r[1] for r in runs)
        print(f"{name:<10} {wall * 1000:>9.1f} {wall / hash_time:>10.1f} {growth:>24.2f}")


if __name__ == "__main__":
    main()
