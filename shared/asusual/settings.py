"""Settings, read once from the environment (prefix ``ASUSUAL_``).

The defaults of some settings suit local mode only (``asusual-local``, no queue URLs, the local
outbox, links to 127.0.0.1). Outside local mode (``ASUSUAL_STAGE`` other than ``local``) a function
refuses to start when a variable it needs is missing, instead of running on a local default: every
function needs ``ASUSUAL_TABLE_NAME`` and ``ASUSUAL_REGION``, and each handler names the rest it
needs at import (``get_settings().require(...)``), so a misconfigured deployment fails at its
first cold start with the variables named, not later with a message sent to the wrong place."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASUSUAL_", extra="ignore", frozen=True)

    stage: str = "local"
    region: str = Field(default="eu-central-1", description="AWS region of the tables and queues")
    table_name: str = Field(default="asusual-local", description="the single DynamoDB table")
    events_queue_url: str = Field(default="", description="SQS queue the intake API writes to")
    intents_queue_url: str = Field(default="", description="SQS queue the triggers write message intents to")
    dynamodb_endpoint: str | None = Field(default=None, description="DynamoDB Local or another endpoint")
    key_cache_seconds: int = Field(default=60, ge=0, description="how long a Lambda caches a key lookup")
    rotation_overlap_hours: int = Field(default=24, ge=0, description="old key stays valid this long")
    default_rate_limit: float = Field(default=200.0, gt=0, description="requests/s per source and container")
    default_burst: int = Field(default=400, gt=0, description="burst per source and container")
    visitor_rate_limit: float = Field(
        default=1.0, gt=0, description="a page's decisions per second for one visitor (key and anonymous id)"
    )
    visitor_burst: int = Field(default=10, gt=0, description="burst of a page's decisions for one visitor")
    dedupe_days: int = Field(
        default=30, ge=1, le=365, description="a messageId takes effect once this long (marker TTL)"
    )
    message_log_days: int = Field(
        default=400, ge=1, le=3650, description="messages and their explanations are kept this long (TTL)"
    )
    default_country: str | None = Field(default=None, description="phone region when nothing else tells")
    returning_min_orders: int = Field(default=2, ge=1, description="tenure: returning from this many orders")
    loyal_min_orders: int = Field(default=5, ge=2, description="tenure: loyal from this many orders")
    sqs_send_workers: int = Field(default=8, ge=1, le=32, description="parallel SendMessageBatch calls")
    processor_threads: int = Field(
        default=16,
        ge=1,
        le=32,
        description="the event processor writes this many of a batch's profiles at once",
    )
    birthday_window_start: time = Field(default=time(10, 0), description="birthday greetings from (local)")
    birthday_window_end: time = Field(default=time(21, 0), description="birthday greetings until (local)")
    news_max_age_hours: int = Field(
        default=72, ge=1, description="an order status or subscription this old on arrival is kept, not told"
    )
    reminder_lookback_days: int = Field(
        default=2, ge=0, le=14, description="the replenishment sweep re-reads due partitions this far back"
    )
    # -- behaviour (docs/behaviour.md) ----------------------------------------------------------
    cart_abandonment_minutes: int = Field(
        default=240, ge=10, le=7 * 24 * 60, description="a cart untouched this long gets its reminder"
    )
    cart_max_age_days: int = Field(
        default=14, ge=1, le=90, description="a product put in the cart longer ago no longer counts"
    )
    browse_abandonment_minutes: int = Field(
        default=24 * 60,
        ge=10,
        le=14 * 24 * 60,
        description="a browsed product not viewed for this long is recalled",
    )
    browse_abandonment_views: int = Field(
        default=3, ge=2, le=20, description="views of a product within the window that make it browsed"
    )
    browse_abandonment_window_days: int = Field(
        default=7, ge=1, le=30, description="the views that count fall within this many days"
    )
    abandonment_lookback_days: int = Field(
        default=2, ge=0, le=14, description="the abandonment sweep re-reads due partitions this far back"
    )
    # -- recommendations (docs/recommendations.md) ----------------------------------------------
    recommendations_view_days: int = Field(
        default=7,
        ge=0,
        le=30,
        description="a product viewed this many days before an order counts as viewed then bought",
    )
    recommendations_first_lookback_hours: int = Field(
        default=48,
        ge=1,
        le=336,
        description="the recommendations job's first run reads the basket log this far back",
    )
    # -- delivery (docs/delivery.md) -------------------------------------------------------------
    delivery_mode: Literal["aws", "outbox"] = Field(
        default="outbox", description="aws: SES/SNS/webhooks; outbox: the local outbox (local mode, tests)"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8787", description="where customers open why and unsubscribe links"
    )
    link_secrets: str | None = Field(
        default=None, description="comma-separated signing secrets for links and webhooks (first signs)"
    )
    link_secrets_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the same list (deployed stages)"
    )
    suppression_secrets: str | None = Field(
        default=None, description="comma-separated keys that hash erased identifiers (first hashes)"
    )
    suppression_secrets_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the same list (deployed stages)"
    )
    link_ttl_days: int = Field(
        default=90, ge=1, le=730, description="why, preference and unsubscribe links expire after"
    )
    undo_ttl_hours: int = Field(
        default=24, ge=1, le=168, description="the undo an unsubscribe page offers expires after"
    )
    # -- pages customers read (docs/privacy.md, "Pages and links") ------------------------------
    retailer_name: str = Field(
        default="", max_length=80, description="the shop's name on the pages; empty: no name shown"
    )
    brand_color: str = Field(
        default="#1f4e8c",
        pattern=r"^#[0-9A-Fa-f]{6}$",
        description="the pages' header and button colour (#rrggbb); text on it is black or white, "
        "whichever contrasts more",
    )
    default_locale: Literal["ru", "en"] | None = Field(
        default=None,
        description="the pages' language when neither the message nor the browser tells; "
        "unset: Russian when default_country is RU, BY, KZ or KG, else English",
    )
    marketing_daily_cap: int = Field(default=1, ge=0, description="marketing messages per local day")
    marketing_weekly_cap: int = Field(default=3, ge=0, description="marketing messages per local week")
    quiet_hours_start: time = Field(default=time(21, 0), description="no marketing from (local)")
    quiet_hours_end: time = Field(default=time(9, 0), description="no marketing until (local)")
    deferred_lookback_hours: int = Field(
        default=6, ge=1, le=72, description="the deferred sweep re-reads release partitions this far back"
    )
    campaign_messages_per_second: int = Field(
        default=50, ge=1, le=10_000, description="a campaign's release throttle unless it sets its own"
    )
    campaign_status_cache_seconds: float = Field(
        default=10, ge=0, le=10, description="how long a dispatcher trusts a campaign's status (cancel)"
    )
    campaign_page_size: int = Field(default=100, ge=1, le=1000, description="members planned per page")
    campaign_sweep_budget_seconds: float = Field(
        default=240, gt=0, description="how long one campaign sweep plans before leaving the rest to the next"
    )
    sender_email: str | None = Field(default=None, description="SES identity messages are sent from")
    email_configuration_set: str | None = None
    sms_sender_id: str | None = None
    sms_origination_number: str | None = None
    push_platform_applications: dict[str, str] = Field(
        default_factory=dict, description='JSON: {"apns": "<platform application ARN>", "fcm": "..."}'
    )
    webhooks: dict[str, str] = Field(
        default_factory=dict, description='JSON: {"store": "https://pos.example/hooks", "call_center": ...}'
    )
    offer_pool_cache_seconds: int = Field(default=60, ge=0, description="how long a Lambda caches the pool")
    # -- segments (docs/segments.md, "Live membership") ------------------------------------------
    segments_queue_url: str = Field(
        default="", description="SQS queue of the segment back-fill and deletion pages"
    )
    segment_cache_seconds: int = Field(
        default=60, ge=0, le=780, description="how long a Lambda caches the segment definitions"
    )
    segment_backfill_delay_seconds: int | None = Field(
        default=None,
        ge=0,
        le=900,
        description="the first back-fill or deletion page waits this long (default: the cache + 60 s)",
    )
    segment_sweep_lookback_hours: int = Field(
        default=6, ge=0, le=72, description="the segments sweep re-reads due partitions this far back"
    )
    # -- back in stock and price drop (asusual.triggers.stock) -----------------------------------
    stock_queue_url: str = Field(
        default="", description="SQS queue of the back-in-stock and price-drop fan-out"
    )
    interest_days: int = Field(
        default=30, ge=1, le=365, description="a view or add makes the customer hear of the product this long"
    )
    price_drop_share: Decimal = Field(
        default=Decimal("0.10"), gt=0, lt=1, description="a price drop is news from this share of the price"
    )
    stock_page_size: int = Field(
        default=500, ge=1, le=1000, description="interested customers per fan-out page (one message)"
    )
    # -- holdouts and uplift (docs/segments.md, "Holdouts and uplift") ---------------------------
    trigger_holdouts: dict[str, int] = Field(
        default_factory=dict,
        description='JSON: trigger kind → percent of its messages held out, 0 to 50, e.g. {"welcome": 10}; '
        "never order_status, consent_confirmation or campaign",
    )
    trigger_conversion_days: int = Field(
        default=7, ge=1, le=90, description="an order this many days after a trigger's message counts for it"
    )
    # -- where visitors are (asusual.iplocation; README "Where the visitor is") -------------------
    geoip_database: str | None = Field(
        default=None,
        description="path of a MaxMind-format City database (GeoLite2 City, DB-IP City Lite); unset: "
        "visitors are not located by their IP; set but not opening: the intake refuses to start",
    )

    # -- weather-aware offers and words (docs/weather.md); off unless switched on ---------------
    weather: Literal["off", "open-meteo"] = Field(
        default="off", description="off: no weather (the season rule alone); open-meteo: Open-Meteo, no key"
    )
    weather_timeout_ms: int = Field(
        default=800, ge=50, le=5_000, description="one weather lookup (geocoding and forecast) waits at most"
    )
    weather_cache_seconds: int = Field(
        default=3_600, ge=0, le=86_400, description="how long a Lambda keeps a city's forecast"
    )
    weather_geocoding_url: str = Field(
        default="https://geocoding-api.open-meteo.com/v1/search", description="Open-Meteo's geocoding"
    )
    weather_forecast_url: str = Field(
        default="https://api.open-meteo.com/v1/forecast", description="Open-Meteo's forecast"
    )

    @field_validator("trigger_holdouts", mode="before")
    @classmethod
    def _holdouts_are_percents(cls, value: object) -> object:
        return check_trigger_holdouts(value) if isinstance(value, dict) else value

    @property
    def local(self) -> bool:
        return self.stage == "local"

    @property
    def segment_job_delay_seconds(self) -> int:
        """The first page of a back-fill or deletion waits until every processor's cached definitions
        know the change, plus the longest an event takes (the consumers' 30 s timeout, twice): no
        event is then applied with the old definitions after the back-fill read its profile. No
        cache: no wait. Local mode, where one process runs every function and a change reaches its
        caches at once (asusual.segments.live.definitions_changed), sets 0."""
        if self.segment_backfill_delay_seconds is not None:
            return self.segment_backfill_delay_seconds
        return self.segment_cache_seconds + 60 if self.segment_cache_seconds else 0

    @property
    def segment_mark_grace_seconds(self) -> int:
        """A mark of a segment no cached definition lists is dropped once older than this."""
        return self.segment_cache_seconds + 60

    @model_validator(mode="after")
    def _deployed_functions_name_their_table(self) -> Self:
        if not self.local:
            self.require("table_name", "region")
        return self

    def require(self, *names: str) -> Self:
        """Outside local mode each setting of ``names`` must come from the environment (``a|b``:
        one of them); raises MissingSettings naming the variables. Returns the settings."""
        if self.local:
            return self
        missing = [
            " or ".join(f"ASUSUAL_{n.upper()}" for n in name.split("|"))
            for name in names
            if not any(n in self.model_fields_set for n in name.split("|"))
        ]
        if missing:
            raise MissingSettings(
                f"stage {self.stage!r}: missing environment variable(s) {', '.join(missing)}; "
                "local defaults apply only with ASUSUAL_STAGE=local"
            )
        return self


# messages owed to the customer, and campaigns (their own holdout); the trigger kinds say the same
# (``TriggerKind.may_hold_out``, a test keeps both in step) — listed here so a deployment refuses
# them before any kind is loaded
NEVER_HELD_OUT = frozenset({"order_status", "consent_confirmation", "campaign"})
MAX_HOLDOUT_PERCENT = 50


def check_trigger_holdouts(value: Mapping[Any, object]) -> dict[str, int]:
    """``ASUSUAL_TRIGGER_HOLDOUTS`` as trigger kind → whole percent 0 to 50; ValueError naming the
    first kind that is never held out or has a bad percent (the CDK app checks the same)."""
    out: dict[str, int] = {}
    for kind, percent in value.items():
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"trigger holdouts: {kind!r} is not a trigger kind")
        if kind in NEVER_HELD_OUT:
            raise ValueError(
                f"trigger holdouts: {kind!r} is never held out (owed to the customer, or a campaign)"
            )
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int)
            or not 0 <= percent <= MAX_HOLDOUT_PERCENT
        ):
            raise ValueError(
                f"trigger holdouts: {kind!r}: {percent!r} is not a whole percent "
                f"from 0 to {MAX_HOLDOUT_PERCENT}"
            )
        out[kind] = percent
    return out


class MissingSettings(RuntimeError):
    """A deployed function lacks a variable it needs: it must not start on a local default."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the local server change the environment)."""
    get_settings.cache_clear()
