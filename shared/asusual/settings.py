"""Settings, read once from the environment (prefix ``ASUSUAL_``)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache

from pydantic import Field
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
    dedupe_days: int = Field(default=30, ge=1, le=365, description="a messageId takes effect once this long")
    default_country: str | None = Field(default=None, description="phone region when nothing else tells")
    returning_min_orders: int = Field(default=2, ge=1, description="tenure: returning from this many orders")
    loyal_min_orders: int = Field(default=5, ge=2, description="tenure: loyal from this many orders")
    sqs_send_workers: int = Field(default=8, ge=1, le=32, description="parallel SendMessageBatch calls")
    birthday_window_start: time = Field(default=time(10, 0), description="birthday greetings from (local)")
    birthday_window_end: time = Field(default=time(21, 0), description="birthday greetings until (local)")
    reminder_lookback_days: int = Field(
        default=2, ge=0, le=14, description="the replenishment sweep re-reads due partitions this far back"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the local server change the environment)."""
    get_settings.cache_clear()
