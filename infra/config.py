"""What an operator sets per deployment, read from CDK context (``cdk deploy -c stage=prod ...``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import App

from asusual.settings import check_trigger_holdouts

STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
LOCALES = ("ru", "en")
WEATHER_PROVIDERS = ("off", "open-meteo")  # asusual.settings.Settings.weather
EVENTS_BATCH_SIZE = 100  # asusual.local.functions mirrors it (tests/infra/test_local_parity.py)
MAX_EVENTS_BATCH = 1000  # a batch is processed in one invocation, within the consumers' 30 s timeout


@dataclass(frozen=True)
class StageConfig:
    stage: str = "dev"
    region: str | None = None
    account: str | None = None
    sender_email: str | None = None  # SES identity: an address or a domain
    sms_origination: str | None = None  # origination identity ARN or phone number (E.164)
    alarm_email: str | None = None
    default_country: str | None = None  # phone region for national-format numbers in profile lookups
    dedupe_days: int = 30  # processed-event markers (messageIds only) expire after
    message_log_days: int = 400  # messages and their explanations expire after (docs/privacy.md)
    api_rate_limit: int = 1000  # requests per second for the whole stage
    api_burst_limit: int = 2000
    sms_sender_id: str | None = None  # alphanumeric sender id where the country allows it
    public_base_url: str | None = None  # custom domain for why/unsubscribe links; default: the API URL
    # {"apns": "<platform application ARN>", "fcm": "..."}; {"store": "https://...", "call_center": ...}
    push_platform_applications: dict[str, str] = field(default_factory=dict)
    webhooks: dict[str, str] = field(default_factory=dict)
    # the pages customers open from messages (why, preferences, unsubscribe); unset: the defaults of
    # asusual.settings (no name shown, a dark blue, the language from default_country)
    retailer_name: str | None = None
    brand_color: str | None = None  # #rrggbb
    default_locale: str | None = None  # ru or en
    # trigger kind → percent of its messages held out to measure their uplift, e.g. {"welcome": 10};
    # never order_status or consent_confirmation (a kind the dispatcher does not know refuses to start)
    trigger_holdouts: dict[str, int] = field(default_factory=dict)
    trigger_conversion_days: int = 7  # an order within this many days of a message counts for it
    # where visitors are (README "Where the visitor is"): a local .mmdb City database (GeoLite2 City,
    # DB-IP City Lite) the retailer supplies, bundled as a layer of the intake; unset: not located
    geoip_database: str | None = None
    # weather-aware offers and words (docs/weather.md): off, or open-meteo (egress to the internet,
    # which Lambda functions outside a VPC have; this stack puts none in a VPC)
    weather: str = "off"
    recommendations_every_hours: int = 1  # the recommendations job folds the new baskets this often
    # the event processor's SQS batches (docs/performance.md c): up to this many messages, waiting at
    # most this long to fill one (above 10 messages AWS requires a window of at least 1 s)
    events_batch_size: int = EVENTS_BATCH_SIZE
    events_batching_window_seconds: int = 1

    def __post_init__(self) -> None:
        if not STAGE.match(self.stage):
            raise ValueError(f"stage: {self.stage!r} must be lowercase letters, digits or '-', ≤ 20 chars")
        if not 1 <= self.dedupe_days <= 365:
            raise ValueError(f"dedupe_days: {self.dedupe_days} must be 1 to 365")
        if not 1 <= self.message_log_days <= 3650:
            raise ValueError(f"message_log_days: {self.message_log_days} must be 1 to 3650")
        if self.retailer_name is not None and len(self.retailer_name) > 80:
            raise ValueError("retailer_name: at most 80 characters")
        if self.brand_color is not None and not COLOR.match(self.brand_color):
            raise ValueError(f"brand_color: {self.brand_color!r} must be #rrggbb, e.g. #1f4e8c")
        if self.default_locale is not None and self.default_locale not in LOCALES:
            raise ValueError(f"default_locale: {self.default_locale!r} must be one of {', '.join(LOCALES)}")
        check_trigger_holdouts(self.trigger_holdouts)  # names the kind: "trigger holdouts: ..."
        if not 1 <= self.trigger_conversion_days <= 90:
            raise ValueError(f"trigger_conversion_days: {self.trigger_conversion_days} must be 1 to 90")
        if self.geoip_database is not None and not Path(self.geoip_database).is_file():
            raise ValueError(f"geoip_database: {self.geoip_database!r} is not a file (a City .mmdb)")
        if self.weather not in WEATHER_PROVIDERS:
            raise ValueError(f"weather: {self.weather!r} must be one of {', '.join(WEATHER_PROVIDERS)}")
        if not 1 <= self.events_batch_size <= MAX_EVENTS_BATCH:
            raise ValueError(f"events_batch_size: {self.events_batch_size} must be 1 to {MAX_EVENTS_BATCH}")
        if not 0 <= self.events_batching_window_seconds <= 300:
            raise ValueError(
                f"events_batching_window_seconds: {self.events_batching_window_seconds} must be 0 to 300"
            )
        if self.events_batch_size > 10 and self.events_batching_window_seconds < 1:
            raise ValueError("events_batching_window_seconds: at least 1 when events_batch_size is above 10")
        if not 1 <= self.recommendations_every_hours <= 24:
            raise ValueError(
                f"recommendations_every_hours: {self.recommendations_every_hours} must be 1 to 24"
            )

    @property
    def weather_environment(self) -> dict[str, str]:
        """What a function that looks up the day's weather (decisions, the dispatcher) is given:
        nothing while the feature is off (the settings' default)."""
        return {"ASUSUAL_WEATHER": self.weather} if self.weather != "off" else {}

    @property
    def retain_data(self) -> bool:
        """Production keeps its table and logs when the stack is destroyed."""
        return self.stage == "prod"

    @classmethod
    def from_app(cls, app: App) -> StageConfig:
        def get(name: str) -> str | None:
            value = app.node.try_get_context(name)
            return str(value) if value not in (None, "") else None

        def mapping(name: str) -> dict[str, str]:
            raw = app.node.try_get_context(name)
            value = json.loads(raw) if isinstance(raw, str) and raw else raw or {}
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ValueError(f'{name}: a JSON object of strings, e.g. {{"store": "https://..."}}')
            return {str(k): v for k, v in value.items()}

        def percents(name: str) -> dict[str, int]:
            raw = app.node.try_get_context(name)
            value = json.loads(raw) if isinstance(raw, str) and raw else raw or {}
            if not isinstance(value, dict):
                raise ValueError(f'{name}: a JSON object of whole percents, e.g. {{"welcome": 10}}')
            return check_trigger_holdouts(value)

        return cls(
            stage=get("stage") or "dev",
            region=get("region"),
            account=get("account"),
            sender_email=get("sender_email"),
            sms_origination=get("sms_origination"),
            alarm_email=get("alarm_email"),
            default_country=get("default_country"),
            dedupe_days=int(get("dedupe_days") or 30),
            message_log_days=int(get("message_log_days") or 400),
            api_rate_limit=int(get("api_rate_limit") or 1000),
            api_burst_limit=int(get("api_burst_limit") or 2000),
            sms_sender_id=get("sms_sender_id"),
            public_base_url=get("public_base_url"),
            push_platform_applications=mapping("push_platform_applications"),
            webhooks=mapping("webhooks"),
            retailer_name=get("retailer_name"),
            brand_color=get("brand_color"),
            default_locale=get("default_locale"),
            trigger_holdouts=percents("trigger_holdouts"),
            trigger_conversion_days=int(get("trigger_conversion_days") or 7),
            geoip_database=get("geoip_database"),
            weather=get("weather") or "off",
            recommendations_every_hours=int(get("recommendations_every_hours") or 1),
            events_batch_size=int(get("events_batch_size") or EVENTS_BATCH_SIZE),
            events_batching_window_seconds=int(get("events_batching_window_seconds") or 1),
        )
