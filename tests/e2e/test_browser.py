"""A browser on another origin uses what the API documents: Chromium, driven by Playwright,
calls the local server with ``fetch()`` from a page of an allowed origin.

Needs a Chromium (Debian's ``chromium`` package; Playwright's own browser download is not
used) and the ``playwright`` package (the dev extra). Where no Chromium is installed the test
is skipped, and its reason says how to install one."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.blueprints import png
from tests.e2e.servers import DEV_API_KEY, MEMORY_ENV, cli, free_port, running

pytestmark = pytest.mark.slow
PAGE_PORT = free_port()
# The front-end's origin: a real page on loopback, as a developer's dev server would serve it
# (Chromium lets only pages on loopback itself call a loopback API).
PAGE_ORIGIN = f"http://localhost:{PAGE_PORT}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**MEMORY_ENV, "BLUEPRINT_JOBS_CORS_ORIGINS": PAGE_ORIGIN}
    with running([*cli(), "serve", "--port", str(port)], f"{base}/health", env=env):
        yield base


@pytest.fixture(scope="module")
def front_end(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("front-end")
    (root / "index.html").write_text("<html><body>app</body></html>")
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", PAGE_PORT), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PAGE_ORIGIN
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page(front_end: str) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium to run it")
    from playwright import sync_api as playwright_api

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(f"{front_end}/index.html")
        yield page
        browser.close()


SCRIPT = """
async ([api, bytes, key]) => {
  // Every call carries the key, so every one is preflighted, as a front-end's calls are.
  const auth = {"Authorization": `Bearer ${key}`};
  const seen = {};
  const blueprint = new Uint8Array(bytes);
  const created = await fetch(`${api}/api/v1/jobs`, {
    method: "POST", headers: {...auth, "Content-Type": "image/png", "Idempotency-Key": "browser-1",
                              "X-Correlation-ID": "from-the-browser"},
    body: blueprint});
  const job = (await created.json()).data;
  seen.created = [created.status, created.headers.get("ETag"), created.headers.get("Location"),
                  created.headers.get("X-Request-ID") !== null,
                  created.headers.get("X-Correlation-ID")];
  const polled = await fetch(`${api}/api/v1/jobs/${job.job_id}`,
                             {headers: {...auth, "If-None-Match": created.headers.get("ETag")}});
  seen.polled = [polled.status, polled.headers.get("ETag")];
  const reloaded = await fetch(`${api}/api/v1/jobs/${job.job_id}`,
                               {headers: auth, cache: "reload"});
  seen.reloaded = [reloaded.status, reloaded.headers.get("Cache-Control")];
  const cancelled = await fetch(`${api}/api/v1/jobs/${job.job_id}`,
                                {method: "DELETE", headers: {...auth, "If-Match": '"1"'}});
  seen.cancelled = [cancelled.status, (await cancelled.json()).data.status];
  const fresh = await fetch(`${api}/api/v1/jobs?fresh=true`, {
    method: "POST", headers: {...auth, "Content-Type": "image/png"}, body: blueprint,
    cache: "no-store"});
  seen.fresh = fresh.status;
  const mistyped = await fetch(`${api}/api/v1/jbos`, {method: "POST",
    headers: {...auth, "Content-Type": "application/json"}, body: "{}"});
  seen.mistyped = [mistyped.status, (await mistyped.json()).error.code];
  const tooLarge = await fetch(`${api}/api/v1/jobs`, {method: "POST",
    headers: {...auth, "Content-Type": "application/pdf"}, body: new Uint8Array(52428801)});
  seen.tooLarge = [tooLarge.status, (await tooLarge.json()).error.code];
  const anonymous = await fetch(`${api}/api/v1/jobs`);
  seen.anonymous = [anonymous.status, (await anonymous.json()).error.code,
                    anonymous.headers.get("WWW-Authenticate")];
  return seen;
}
"""


def test_a_front_end_on_another_origin_uses_the_documented_headers(page: Any, api: str) -> None:
    seen = page.evaluate(SCRIPT, [api, list(png()), DEV_API_KEY])
    status, etag, location, has_request_id, correlation = seen["created"]
    assert (status, etag, has_request_id, correlation) == (201, '"1"', True, "from-the-browser")
    assert location.startswith("/api/v1/jobs/job_")
    assert seen["polled"] == [304, '"1"']  # If-None-Match passed the preflight
    assert seen["reloaded"] == [200, "no-cache"]
    assert seen["cancelled"] == [200, "cancelled"]
    assert seen["fresh"] == 201
    assert seen["mistyped"] == [404, "NOT_FOUND"]  # the 404 itself, not a CORS failure
    assert seen["tooLarge"] == [413, "FILE_TOO_LARGE"]  # in the envelope, readable by the page
    # Without the key: a 401 the page can read, challenge included.
    assert seen["anonymous"] == [401, "UNAUTHENTICATED", 'Bearer realm="blueprint-jobs"']
