"""Configuration, read from ``BLUEPRINT_JOBS_*`` and the standard AWS variables.

Read once, by the composition root, from an environment mapping it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from attrs import frozen

Profile = Literal["local", "lambda"]
STORAGES = ("memory", "aws")
LOCAL_CORS_ORIGINS = ("http://localhost:3000", "http://localhost:5173")
DEFAULT_TABLE = "blueprint-jobs"
DEFAULT_BUCKET = "blueprint-jobs-blueprints"
DEFAULT_SERVICE = "blueprint-jobs"


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
    # The Service dimension of the application's metrics (the stack's name on AWS).
    service: str = DEFAULT_SERVICE

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
            service=env.get("BLUEPRINT_JOBS_SERVICE") or DEFAULT_SERVICE,
        )
