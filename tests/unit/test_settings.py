"""Deployed settings fail fast: outside local mode no function runs on a local default."""

import subprocess
import sys

import pytest

from asusual.settings import MissingSettings, Settings

DEPLOYED = {"ASUSUAL_STAGE": "prod", "ASUSUAL_TABLE_NAME": "asusual-prod", "ASUSUAL_REGION": "eu-central-1"}


@pytest.fixture
def env(monkeypatch):
    for name in ("ASUSUAL_STAGE", "ASUSUAL_TABLE_NAME", "ASUSUAL_REGION", "ASUSUAL_EVENTS_QUEUE_URL",
                 "ASUSUAL_LINK_SECRETS", "ASUSUAL_LINK_SECRETS_ARN", "ASUSUAL_DELIVERY_MODE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_local_mode_runs_on_its_local_defaults(env):
    settings = Settings().require("events_queue_url", "delivery_mode")
    assert (settings.table_name, settings.events_queue_url, settings.delivery_mode) == (
        "asusual-local",
        "",
        "outbox",
    )


def test_settings_deployed_without_its_table_refuses_naming_the_variables(env):
    env.setenv("ASUSUAL_STAGE", "prod")
    with pytest.raises(MissingSettings) as err:
        Settings()
    assert str(err.value) == (
        "stage 'prod': missing environment variable(s) ASUSUAL_TABLE_NAME, ASUSUAL_REGION; "
        "local defaults apply only with ASUSUAL_STAGE=local"
    )


def test_settings_deployed_require_names_each_missing_variable_and_accepts_either_alternative(env):
    for name, value in DEPLOYED.items():
        env.setenv(name, value)
    settings = Settings()
    with pytest.raises(
        MissingSettings, match=r"ASUSUAL_EVENTS_QUEUE_URL, ASUSUAL_LINK_SECRETS_ARN or ASUSUAL_LINK_SECRETS;"
    ):
        settings.require("events_queue_url", "link_secrets_arn|link_secrets")
    env.setenv("ASUSUAL_EVENTS_QUEUE_URL", "https://sqs.eu-central-1.amazonaws.com/1/events")
    env.setenv("ASUSUAL_LINK_SECRETS", "s3cret")
    assert Settings().require("events_queue_url", "link_secrets_arn|link_secrets").link_secrets == "s3cret"


def test_handler_deployed_without_its_queue_refuses_to_start_at_import():
    """The check runs when Lambda imports the handler (the cold start), not at the first event."""
    code = "import functions.intake_api.handler"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **DEPLOYED},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        "MissingSettings: stage 'prod': missing environment variable(s) ASUSUAL_EVENTS_QUEUE_URL, "
        "ASUSUAL_LINK_SECRETS_ARN or ASUSUAL_LINK_SECRETS;" in result.stderr
    )
    started = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            **DEPLOYED,
            "ASUSUAL_EVENTS_QUEUE_URL": "https://sqs.example/1/events",
            "ASUSUAL_LINK_SECRETS_ARN": "arn:aws:secretsmanager:eu-central-1:1:secret:links",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr


def test_intake_deployed_with_a_geoip_database_that_does_not_open_refuses_to_start(tmp_path):
    from tests.geoip import build_city_database

    database = tmp_path / "GeoLite2-City.mmdb"

    def start():
        return subprocess.run(
            [sys.executable, "-c", "import functions.intake_api.handler"],
            env={
                "PATH": "/usr/bin:/bin",
                **DEPLOYED,
                "ASUSUAL_EVENTS_QUEUE_URL": "https://sqs.example/1/events",
                "ASUSUAL_LINK_SECRETS_ARN": "arn:aws:secretsmanager:eu-central-1:1:secret:links",
                "ASUSUAL_GEOIP_DATABASE": str(database),
            },
            capture_output=True,
            text=True,
            check=False,
        )

    refused = start()
    assert refused.returncode == 1
    assert f"GeoipDatabaseError: ASUSUAL_GEOIP_DATABASE='{database}' does not open" in refused.stderr
    build_city_database(database)
    started = start()
    assert started.returncode == 0, started.stderr


def test_settings_geoip_database_unset_by_default(env):
    env.delenv("ASUSUAL_GEOIP_DATABASE", raising=False)
    assert Settings().geoip_database is None
    env.setenv("ASUSUAL_GEOIP_DATABASE", "/opt/GeoLite2-City.mmdb")
    assert Settings().geoip_database == "/opt/GeoLite2-City.mmdb"


def test_settings_page_look_has_accessible_defaults(env):
    settings = Settings()
    assert (
        settings.retailer_name,
        settings.brand_color,
        settings.default_locale,
        settings.undo_ttl_hours,
    ) == (
        "",
        "#1f4e8c",
        None,
        24,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ASUSUAL_BRAND_COLOR", "blue"), ("ASUSUAL_BRAND_COLOR", "#1f4e8"), ("ASUSUAL_DEFAULT_LOCALE", "de"),
     ("ASUSUAL_RETAILER_NAME", "x" * 81), ("ASUSUAL_UNDO_TTL_HOURS", "0")],
)  # fmt: skip
def test_settings_page_look_refuses_bad_values_naming_the_field(env, variable, value):
    from pydantic import ValidationError

    env.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.removeprefix("ASUSUAL_").lower()):
        Settings()


def test_settings_trigger_holdouts_are_read_as_whole_percents(env):
    env.setenv("ASUSUAL_TRIGGER_HOLDOUTS", '{"welcome": 10, "birthday": 0}')
    env.setenv("ASUSUAL_TRIGGER_CONVERSION_DAYS", "14")
    settings = Settings()
    assert (settings.trigger_holdouts, settings.trigger_conversion_days) == (
        {"welcome": 10, "birthday": 0},
        14,
    )
    env.delenv("ASUSUAL_TRIGGER_HOLDOUTS")
    env.delenv("ASUSUAL_TRIGGER_CONVERSION_DAYS")
    assert (Settings().trigger_holdouts, Settings().trigger_conversion_days) == ({}, 7)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"order_status": 10}', "trigger holdouts: 'order_status' is never held out"),
        ('{"consent_confirmation": 1}', "trigger holdouts: 'consent_confirmation' is never held out"),
        ('{"welcome": 51}', "trigger holdouts: 'welcome': 51 is not a whole percent from 0 to 50"),
        ('{"welcome": 10.5}', "trigger holdouts: 'welcome': 10.5 is not a whole percent from 0 to 50"),
        ('{"welcome": true}', "trigger holdouts: 'welcome': True is not a whole percent from 0 to 50"),
        ('{"": 5}', "trigger holdouts: '' is not a trigger kind"),
    ],
)
def test_settings_trigger_holdouts_refuse_and_name_the_kind(env, value, message):
    from pydantic import ValidationError

    env.setenv("ASUSUAL_TRIGGER_HOLDOUTS", value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_dispatcher_with_an_unknown_kind_held_out_refuses_to_start_at_import():
    code = "import functions.dispatcher.handler"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "ASUSUAL_TRIGGER_HOLDOUTS": '{"welcom": 10}'},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        "ValueError: trigger holdouts: unknown trigger kind 'welcom'; one of back_in_stock, birthday, "
        "browse_abandonment, cart_abandonment, price_drop, replenishment, welcome" in result.stderr
    )
