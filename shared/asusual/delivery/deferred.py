"""The deferred sweep: intents held back by quiet hours or caps go back on the intents queue
when their release time comes; the dispatcher then decides again (consent, caps and the window
are re-checked then, not trusted from the time of deferral)."""

from __future__ import annotations

from datetime import datetime, timedelta

from asusual.delivery.records import Deferred, MessageRepository, release_bucket
from asusual.triggers.models import Deferral, Intent, SweepReport
from asusual.triggers.ports import IntentPublisher


def partitions(now: datetime, lookback_hours: int) -> list[str]:
    """The hour buckets from ``lookback_hours`` ago to now (a missed run is caught up)."""
    start = now.replace(minute=0, second=0, microsecond=0)
    return [release_bucket(start - timedelta(hours=h)) for h in range(lookback_hours, -1, -1)]


def sweep(
    messages: MessageRepository, publisher: IntentPublisher, now: datetime, lookback_hours: int
) -> SweepReport:
    report = SweepReport(
        sweep="deferred", now=now, partitions=partitions(now, lookback_hours), read=0, emitted=0
    )
    for bucket in report.partitions:
        due = messages.due_deferred(bucket, now)
        report.read += len(due)
        for deferred in due:
            # publish first, then drop: a crash in between re-publishes, and the dispatcher's
            # send-once key keeps that from sending twice
            publisher.publish([released(deferred)])
            if messages.drop_deferred(deferred):
                report.emitted += 1
            else:
                report.skipped["dropped_by_another_sweep"] = (
                    report.skipped.get("dropped_by_another_sweep", 0) + 1
                )
    return report


def released(deferred: Deferred) -> Intent:
    """The intent as it goes back on the queue, carrying this hold-back in its history (the
    message's explanation then says it waited, and why)."""
    note = Deferral(reason=deferred.reason, deferred_at=deferred.deferred_at, release_at=deferred.release_at)
    intent = deferred.intent
    return intent.model_copy(update={"deferrals": (*intent.deferrals, note)})
