from __future__ import annotations

import pytest

from entrypoints import cli
from entrypoints.bootstrap import build
from entrypoints.settings import LOCAL_CORS_ORIGINS, ConfigurationError, Settings


def test_local_defaults() -> None:
    settings = Settings.from_env({}, profile="local")
    assert settings.storage == "memory"
    assert settings.cors_origins == LOCAL_CORS_ORIGINS
    assert settings.log_level == "INFO"
    assert settings.table == "blueprint-jobs"
    assert settings.bucket == "blueprint-jobs-blueprints"
    assert settings.service == "blueprint-jobs"
    assert settings == Settings(cors_origins=LOCAL_CORS_ORIGINS)


def test_lambda_defaults_allow_no_origin_and_use_aws() -> None:
    settings = Settings.from_env({}, profile="lambda")
    assert settings.storage == "aws"
    assert settings.cors_origins == ()
    assert (settings.table, settings.bucket) == ("blueprint-jobs", "blueprint-jobs-blueprints")


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {
            "BLUEPRINT_JOBS_STORAGE": "aws",
            "BLUEPRINT_JOBS_CORS_ORIGINS": "https://app.example/, https://admin.example,,",
            "BLUEPRINT_JOBS_LOG_LEVEL": "debug",
            "BLUEPRINT_JOBS_TABLE": "jobs-prod",
            "BLUEPRINT_JOBS_BUCKET": "blueprints-prod",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
            "BLUEPRINT_JOBS_RESULT_CACHE": "off",
            "BLUEPRINT_JOBS_SERVICE": "blueprint-jobs-prod",
        }
    )
    assert settings == Settings(
        storage="aws",
        cors_origins=("https://app.example", "https://admin.example"),
        log_level="DEBUG",
        table="jobs-prod",
        bucket="blueprints-prod",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:5000",
        result_cache=False,
        service="blueprint-jobs-prod",
    )


@pytest.mark.parametrize(
    "env", [{"BLUEPRINT_JOBS_STORAGE": "disk"}, {"BLUEPRINT_JOBS_LOG_LEVEL": "LOUD"}]
)
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)


def test_memory_storage_is_built() -> None:
    built = build(Settings())
    assert built.use_cases.lifecycle.readiness().ready
    assert built.clock.now().tzinfo is not None


def test_cli_reports_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLUEPRINT_JOBS_LOG_LEVEL", "LOUD")
    assert cli.main(["serve", "--port", "0"]) == 2
    assert "BLUEPRINT_JOBS_LOG_LEVEL" in capsys.readouterr().err


def test_the_request_budget() -> None:
    assert Settings.from_env({}).request_budget_seconds == 29.0
    assert Settings.from_env({}, profile="lambda").request_budget_seconds == 29.0
    env = {"BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS": "12.5"}
    assert Settings.from_env(env).request_budget_seconds == 12.5


@pytest.mark.parametrize("value", ["soon", "", "0", "-3", "inf", "nan"])
def test_a_bad_request_budget_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS"):
        Settings.from_env({"BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS": value})


def test_serve_takes_a_request_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(cli, "serve", lambda host, port, settings, threads: served.append(settings))
    monkeypatch.setenv("BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS", "20")
    assert cli.main(["serve", "--request-budget", "15"]) == 0
    assert cli.main(["serve"]) == 0
    assert [s.request_budget_seconds for s in served] == [15.0, 20.0]


def test_aws_storage_needs_a_budget_with_room_for_the_reserve() -> None:

    with pytest.raises(ConfigurationError, match="at least 11"):
        build(Settings(storage="aws", request_budget_seconds=10.0))
