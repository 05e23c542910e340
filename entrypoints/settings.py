"""Configuration, read from ``BLUEPRINT_JOBS_*`` and the standard AWS variables.

Read once, by the composition root, from an environment mapping it is given.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Literal

from attrs import frozen

from domain import api_keys
from domain.quotas import RatePolicy

Profile = Literal["local", "lambda"]
STORAGES = ("memory", "aws")
LOCAL_CORS_ORIGINS = ("http://localhost:3000", "http://localhost:5173")
DEFAULT_TABLE = "blueprint-jobs"
DEFAULT_BUCKET = "blueprint-jobs-blueprints"
# The most time one request may take, as the Lambda's 29 s timeout allows; on Lambda the
# function's remaining time bounds it too.
DEFAULT_REQUEST_BUDGET_SECONDS = 29.0
DEFAULT_SERVICE = "blueprint-jobs"
# Per owner and minute: job creations, and upload sessions opened (0 turns a quota off).
DEFAULT_PER_MINUTE = 60
# Who the local server's development key belongs to.
DEV_OWNER = "dev"
# The sweeper fails a job processing this long (PROCESSING_TIMEOUT), and sends a job pending
# this long to the pipeline again.
DEFAULT_PROCESSING_TIMEOUT_SECONDS = 3600.0
DEFAULT_RESEND_AFTER_SECONDS = 900.0
# The local worker stops a detector that runs this long (DETECTOR_TIMEOUT).
DEFAULT_WORKER_TIMEOUT_SECONDS = 300.0
JOBS_POLICY = "jobs"
UPLOADS_POLICY = "uploads"


class ConfigurationError(ValueError):
    """A setting has a value the service cannot run with."""


@frozen
class Settings:
    storage: str = "memory"
    cors_origins: tuple[str, ...] = ()
    log_level: str = "INFO"
    table: str = DEFAULT_TABLE
    bucket: str = DEFAULT_BUCKET
    region: str | None = None
    endpoint_url: str | None = None
    result_cache: bool = True
    request_budget_seconds: float = DEFAULT_REQUEST_BUDGET_SECONDS
    # The Service dimension of the application's metrics (the stack's name on AWS).
    service: str = DEFAULT_SERVICE
    jobs_per_minute: int = DEFAULT_PER_MINUTE
    uploads_per_minute: int = DEFAULT_PER_MINUTE
    # Unfinished jobs an owner may have at once; None: no limit (jobs finish only once a
    # detection pipeline runs, so a laptop leaves it off).
    max_unfinished_jobs: int | None = None
    # The local server's own JWT verification (on Lambda, API Gateway's authorizer verifies).
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_url: str | None = None
    # With memory storage: the development key the server accepts (made at start if unset).
    dev_api_key: str | None = None
    # On AWS: the queue the outbox and the sweeper send jobs to, for the detection pipeline.
    pipeline_queue_url: str | None = None
    # The sweeper's two delays (see DEFAULT_PROCESSING_TIMEOUT_SECONDS).
    processing_timeout_seconds: float = DEFAULT_PROCESSING_TIMEOUT_SECONDS
    resend_after_seconds: float = DEFAULT_RESEND_AFTER_SECONDS
    # With memory storage: the local worker's detector command (None: no worker, jobs stay
    # pending), and the most time one run of it may take.
    worker_command: str | None = None
    worker_timeout_seconds: float = DEFAULT_WORKER_TIMEOUT_SECONDS

    @property
    def rate_policies(self) -> dict[str, RatePolicy]:
        """The per-minute quotas that are on, by name."""
        quotas = {JOBS_POLICY: self.jobs_per_minute, UPLOADS_POLICY: self.uploads_per_minute}
        return {name: RatePolicy(name, q, 60) for name, q in quotas.items() if q > 0}

    @classmethod
    def from_env(cls, env: Mapping[str, str], profile: Profile = "local") -> Settings:
        storage = env.get("BLUEPRINT_JOBS_STORAGE", "memory" if profile == "local" else "aws")
        if storage not in STORAGES:
            raise ConfigurationError(f"BLUEPRINT_JOBS_STORAGE must be one of {STORAGES}")
        origins_text = env.get("BLUEPRINT_JOBS_CORS_ORIGINS")
        origins: tuple[str, ...]
        if origins_text is None:
            origins = LOCAL_CORS_ORIGINS if profile == "local" else ()
        else:
            origins = tuple(o.strip().rstrip("/") for o in origins_text.split(",") if o.strip())
        level = env.get("BLUEPRINT_JOBS_LOG_LEVEL", "INFO").upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ConfigurationError(f"BLUEPRINT_JOBS_LOG_LEVEL is not a level: {level}")
        budget = _seconds(
            env, "BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS", DEFAULT_REQUEST_BUDGET_SECONDS
        )
        return cls(
            storage=storage,
            cors_origins=origins,
            log_level=level,
            table=env.get("BLUEPRINT_JOBS_TABLE", DEFAULT_TABLE),
            bucket=env.get("BLUEPRINT_JOBS_BUCKET", DEFAULT_BUCKET),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            result_cache=env.get("BLUEPRINT_JOBS_RESULT_CACHE", "on").lower()
            not in ("0", "off", "false", "no"),
            request_budget_seconds=budget,
            service=env.get("BLUEPRINT_JOBS_SERVICE") or DEFAULT_SERVICE,
            jobs_per_minute=_count(env, "BLUEPRINT_JOBS_JOBS_PER_MINUTE", DEFAULT_PER_MINUTE),
            uploads_per_minute=_count(env, "BLUEPRINT_JOBS_UPLOADS_PER_MINUTE", DEFAULT_PER_MINUTE),
            max_unfinished_jobs=_count(env, "BLUEPRINT_JOBS_MAX_UNFINISHED_JOBS", 0) or None,
            jwt_issuer=env.get("BLUEPRINT_JOBS_JWT_ISSUER") or None,
            jwt_audience=env.get("BLUEPRINT_JOBS_JWT_AUDIENCE") or None,
            jwks_url=env.get("BLUEPRINT_JOBS_JWKS_URL") or None,
            dev_api_key=_dev_key(env),
            pipeline_queue_url=env.get("BLUEPRINT_JOBS_PIPELINE_QUEUE_URL") or None,
            processing_timeout_seconds=_seconds(
                env, "BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS", DEFAULT_PROCESSING_TIMEOUT_SECONDS
            ),
            resend_after_seconds=_seconds(
                env, "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS", DEFAULT_RESEND_AFTER_SECONDS
            ),
            worker_command=env.get("BLUEPRINT_JOBS_WORKER", "").strip() or None,
            worker_timeout_seconds=_seconds(
                env, "BLUEPRINT_JOBS_WORKER_TIMEOUT_SECONDS", DEFAULT_WORKER_TIMEOUT_SECONDS
            ),
        )


def _dev_key(env: Mapping[str, str]) -> str | None:
    key = env.get("BLUEPRINT_JOBS_DEV_API_KEY") or None
    if key is not None and not api_keys.well_formed(key):
        raise ConfigurationError(
            "BLUEPRINT_JOBS_DEV_API_KEY is not an API key (bjk_ and 32 characters with a "
            "valid checksum); unset it and the server makes one"
        )
    return key


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, 0 or more (0 turns the quota it sets off)."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} is not a whole number: {text!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must be 0 or more: {text!r}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds, more than zero."""
    text = env.get(name)
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} is not a number of seconds: {text!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigurationError(f"{name} must be more than 0 seconds: {text!r}")
    return seconds
