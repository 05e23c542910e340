"""``blueprint-jobs``: the command line of the service."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from entrypoints.settings import STORAGES, ConfigurationError, Settings

log = logging.getLogger("blueprint_jobs.cli")

SERVER_THREADS = 4
# The local server checks bearer JWTs itself once an issuer is set (entrypoints/jwt_verifier.py).
_JWT_FLAGS = {
    "--jwt-issuer": "BLUEPRINT_JOBS_JWT_ISSUER",
    "--jwt-audience": "BLUEPRINT_JOBS_JWT_AUDIENCE",
    "--jwks-url": "BLUEPRINT_JOBS_JWKS_URL",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blueprint-jobs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API under a WSGI server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--storage",
        choices=STORAGES,
        default=None,
        help="memory (default) or aws; overrides BLUEPRINT_JOBS_STORAGE",
    )
    serve.add_argument("--threads", type=int, default=SERVER_THREADS)
    serve.add_argument(
        "--request-budget",
        metavar="SECONDS",
        default=None,
        help="the most time one request may take (default 29); "
        "overrides BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS",
    )
    for flag, variable in _JWT_FLAGS.items():
        serve.add_argument(flag, default=None, help=f"overrides {variable}")
    commands.add_parser(
        "init-storage",
        help="create the DynamoDB table and the S3 bucket on the configured AWS endpoint",
    )
    return parser


def serve(host: str, port: int, settings: Settings, threads: int = SERVER_THREADS) -> None:
    from entrypoints.bootstrap import build_api
    from entrypoints.falcon_app import create_app
    from entrypoints.local_server import make_server
    from entrypoints.logs import configure_logging

    configure_logging(settings.log_level, batched=True)
    app = create_app(build_api(settings, configure_logs=False, verify_jwts=True))
    server = make_server(app, host, port, threads)
    log.info(
        "serving on http://%s:%d with %s storage",
        host,
        port,
        settings.storage,
        extra={"status": "starting"},
    )
    # SIGTERM (a supervisor, Ctrl-C's polite sibling) ends the process through SystemExit, so
    # the server stops its threads and logging's shutdown writes the lines still batched.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        server.start()
    finally:
        server.stop()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    try:
        if args.command == "serve":
            if args.storage:
                env["BLUEPRINT_JOBS_STORAGE"] = args.storage
            if args.request_budget:
                env["BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS"] = args.request_budget
            for flag, variable in _JWT_FLAGS.items():
                value = getattr(args, flag.lstrip("-").replace("-", "_"))
                if value:
                    env[variable] = value
            serve(args.host, args.port, Settings.from_env(env, profile="local"), args.threads)
        elif args.command == "init-storage":
            from entrypoints.aws import init_storage

            settings = Settings.from_env(env, profile="lambda")
            init_storage(settings)
            print(f"table {settings.table!r} and bucket {settings.bucket!r} are ready")
    except ConfigurationError as error:
        print(f"blueprint-jobs: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
