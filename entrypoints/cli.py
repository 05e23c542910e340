"""``blueprint-jobs``: the command line of the service."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from attrs import evolve

from domain import api_keys
from domain.errors import ApiKeyNotFound, DomainError
from domain.principals import SCOPES
from domain.timestamps import format_timestamp
from domain.use_cases import Access
from domain.use_cases.access import KEY_CACHE_SECONDS
from entrypoints.settings import DEV_OWNER, STORAGES, ConfigurationError, Settings

log = logging.getLogger("blueprint_jobs.cli")

SERVER_THREADS = 4
# The local server checks bearer JWTs itself once an issuer is set (entrypoints/jwt_verifier.py).
_JWT_FLAGS = {
    "--jwt-issuer": "BLUEPRINT_JOBS_JWT_ISSUER",
    "--jwt-audience": "BLUEPRINT_JOBS_JWT_AUDIENCE",
    "--jwks-url": "BLUEPRINT_JOBS_JWKS_URL",
}
_WORKER_FLAGS = {
    "--worker": "BLUEPRINT_JOBS_WORKER",
    "--worker-timeout": "BLUEPRINT_JOBS_WORKER_TIMEOUT_SECONDS",
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
    serve.add_argument(
        "--worker",
        metavar="COMMAND",
        default=None,
        help="memory storage: run this detector command on each new job, in a local worker "
        "(the blueprint's path and the result's path are appended, or replace {input} and "
        "{output}); overrides BLUEPRINT_JOBS_WORKER",
    )
    serve.add_argument(
        "--worker-timeout",
        metavar="SECONDS",
        default=None,
        help="the most time one detector run may take (default 300); "
        "overrides BLUEPRINT_JOBS_WORKER_TIMEOUT_SECONDS",
    )
    commands.add_parser(
        "init-storage",
        help="create the DynamoDB table and the S3 bucket on the configured AWS endpoint",
    )
    keys = commands.add_parser(
        "keys", help="manage API keys in the configured AWS table (BLUEPRINT_JOBS_TABLE)"
    ).add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="make a key; its secret is shown this once")
    create.add_argument("--owner", required=True, help="whose jobs the key reaches")
    create.add_argument("--name", required=True, help="what the key is for, to recognise it")
    create.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        help="a scope to grant (repeat for more; default: all of them)",
    )
    listing = keys.add_parser("list", help="list keys, oldest first (never their secrets)")
    listing.add_argument("--owner", help="only this owner's keys")
    revoke = keys.add_parser("revoke", help="revoke a key (effective within 60 s)")
    revoke.add_argument("key_id", help="the key's id (key_...), as `keys list` shows it")
    return parser


def keys(args: argparse.Namespace, settings: Settings) -> int:
    """``keys create|list|revoke`` on the table the settings name."""
    if settings.storage != "aws":
        raise ConfigurationError(
            "keys are kept in the AWS table (BLUEPRINT_JOBS_STORAGE=aws); with memory storage "
            "the server makes its own development key"
        )
    from entrypoints.aws import aws_service

    try:
        return _keys(args, aws_service(settings).access)
    except DomainError as error:  # the table missing, the endpoint down, throttled...
        print(
            f"blueprint-jobs: the key store (table {settings.table!r}) could not be used: "
            f"{error.message}",
            file=sys.stderr,
        )
        return 1


def _keys(args: argparse.Namespace, access: Access) -> int:
    if args.keys_command == "create":
        try:
            key, secret = access.create_key(args.owner, args.name, args.scope or SCOPES)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        print(f"{key.key_id}  owner={key.owner}  scopes={' '.join(sorted(key.scopes))}")
        print(f"secret: {secret}")
        print("Store the secret now: it is not kept and cannot be shown again.", file=sys.stderr)
    elif args.keys_command == "list":
        for key in access.list_keys(args.owner):
            revoked = format_timestamp(key.revoked_at) if key.revoked_at else "-"
            print(
                f"{key.key_id}  {key.owner}  {' '.join(sorted(key.scopes))}  "
                f"created={format_timestamp(key.created_at)}  revoked={revoked}  {key.name}"
            )
    else:
        try:
            key = access.revoke_key(args.key_id)
        except ApiKeyNotFound:
            print(f"blueprint-jobs: no API key has the id {args.key_id!r}", file=sys.stderr)
            return 1
        print(f"{key.key_id} revoked; it stops working within {KEY_CACHE_SECONDS} s")
    return 0


def serve(host: str, port: int, settings: Settings, threads: int = SERVER_THREADS) -> None:
    from entrypoints.bootstrap import build, build_api
    from entrypoints.falcon_app import create_app
    from entrypoints.local_pipeline import LocalWorker
    from entrypoints.local_server import make_server
    from entrypoints.logs import configure_logging

    configure_logging(settings.log_level, batched=True)
    if settings.storage == "memory" and settings.dev_api_key is None:
        secret = api_keys.new_secret(os.urandom(api_keys.RANDOM_BYTES))
        settings = evolve(settings, dev_api_key=secret)
    components = build(settings)
    worker = LocalWorker.of(components, settings) if settings.worker_command else None
    api = build_api(settings, configure_logs=False, verify_jwts=True, components=components)
    app = create_app(api)
    if settings.storage == "memory":
        # The walk-through in the README uses it; a key made at start changes every start.
        print(f"development API key (owner {DEV_OWNER!r}): {settings.dev_api_key}", flush=True)
        print(_worker_line(settings), flush=True)
    server = make_server(app, host, port, threads)
    log.info(
        "serving on http://%s:%d with %s storage",
        host,
        port,
        settings.storage,
        extra={"status": "starting"},
    )
    # SIGTERM (a supervisor, Ctrl-C's polite sibling) stops the server from a thread of its
    # own, as cheroot means its stop() to be called: its serve loop then ends, start() returns,
    # and logging's shutdown writes the lines still batched. (Raising SystemExit out of the
    # handler instead could land inside cheroot's own stop and leave it waiting for ever.)
    signal.signal(signal.SIGTERM, _stop_on_signal(server.stop))
    if worker is not None:
        worker.start()
    try:
        server.start()
    finally:
        # The worker first: its detector must not outlive the server, however the server's
        # own stop goes.
        if worker is not None:
            worker.stop()
        server.stop()


def _worker_line(settings: Settings) -> str:
    if settings.worker_command is None:
        return (
            "no local worker: new jobs stay pending "
            "(serve --worker COMMAND runs a detector command on each of them)"
        )
    return (
        f"local worker: runs {settings.worker_command!r} on each new job "
        f"(at most {settings.worker_timeout_seconds:g} s each)"
    )


def _stop_on_signal(stop: Callable[[], None]) -> Callable[[int, object], None]:
    """A signal handler that runs ``stop`` once, on a thread of its own."""
    stopping = threading.Event()

    def handler(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=stop, name="stop-on-signal", daemon=True).start()

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    try:
        if args.command == "serve":
            if args.storage:
                env["BLUEPRINT_JOBS_STORAGE"] = args.storage
            if args.request_budget:
                env["BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS"] = args.request_budget
            for flag, variable in {**_JWT_FLAGS, **_WORKER_FLAGS}.items():
                value = getattr(args, flag.lstrip("-").replace("-", "_"))
                if value:
                    env[variable] = value
            serve(args.host, args.port, Settings.from_env(env, profile="local"), args.threads)
        elif args.command == "init-storage":
            from entrypoints.aws import init_storage

            settings = Settings.from_env(env, profile="lambda")
            init_storage(settings)
            print(f"table {settings.table!r} and bucket {settings.bucket!r} are ready")
        elif args.command == "keys":
            return keys(args, Settings.from_env(env, profile="lambda"))
    except ConfigurationError as error:
        print(f"blueprint-jobs: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
