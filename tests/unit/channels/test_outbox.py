from __future__ import annotations

import threading

from asusual.channels.outbox import OUTBOX, OUTBOX_FIELDS, Outbox, OutboxSender
from asusual.delivery.models import Sender
from tests.unit.delivery import message

DESIGN_FIELDS = (  # design 3.2: what GET /_local/outbox lists, in this order
    "id",
    "profile_id",
    "channel",
    "to",
    "subject",
    "body",
    "trigger",
    "template",
    "locale",
    "sent_at",
    "local_sent_at",
    "why_url",
)


def test_outbox_sender_record_has_the_design_fields_first_then_the_rest():
    outbox = Outbox()
    OutboxSender(outbox).send(message())
    [record] = outbox.records()
    assert tuple(record) == OUTBOX_FIELDS
    assert tuple(record)[: len(DESIGN_FIELDS)] == DESIGN_FIELDS
    assert tuple(record)[len(DESIGN_FIELDS) :] == (
        "topic",
        "html",
        "unsubscribe_url",
        "preferences_url",
        "send_once_key",
        "campaign_id",
    )


def test_outbox_sender_record_is_json_with_offsets_kept():
    outbox = Outbox()
    OutboxSender(outbox).send(message())
    record = outbox.records()[0]
    assert record["channel"] == "email"
    assert record["subject"] == "Поздравляем, Анна!"
    assert record["sent_at"] == "2026-11-23T09:00:00Z"
    assert record["local_sent_at"] == "2026-11-23T12:00:00+03:00"
    assert record["unsubscribe_url"] == "https://api.example.com/v1/unsubscribe?token=u"
    assert record["preferences_url"] == "https://api.example.com/v1/preferences?token=p"
    assert record["send_once_key"] == "birthday:p_1:2026"


def test_outbox_sender_sends_in_order_with_numbered_receipts():
    outbox = Outbox()
    sender: Sender = OutboxSender(outbox)
    receipts = [sender.send(message(id=f"m_{i}", subject=None, html=None)) for i in range(1, 4)]
    assert [r.provider_id for r in receipts] == ["outbox-1", "outbox-2", "outbox-3"]
    assert [r["id"] for r in outbox.records()] == ["m_1", "m_2", "m_3"]
    assert outbox.records()[0]["subject"] is None and outbox.records()[0]["html"] is None


def test_outbox_records_are_copies_of_what_was_kept():
    outbox = Outbox()
    original = {"id": "m_1"}
    outbox.append(original)
    original["id"] = "changed"
    outbox.records()[0]["id"] = "changed too"
    assert outbox.records() == [{"id": "m_1"}]


def test_outbox_clear_empties_it_and_numbers_stay_unique():
    outbox = Outbox()
    sender = OutboxSender(outbox)
    sender.send(message())
    outbox.clear()
    assert outbox.records() == []
    assert sender.send(message()).provider_id == "outbox-2"
    assert len(outbox.records()) == 1


def test_outbox_concurrent_sends_keep_every_record_once():
    outbox = Outbox()
    sender = OutboxSender(outbox)

    def send_many(worker: int) -> None:
        for i in range(200):
            sender.send(message(id=f"m_{worker}_{i}"))

    threads = [threading.Thread(target=send_many, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r["id"] for r in outbox.records()]
    assert len(ids) == len(set(ids)) == 1600
    for w in range(8):  # each thread's records stay in its send order
        mine = [i for i in ids if i.startswith(f"m_{w}_")]
        assert mine == [f"m_{w}_{i}" for i in range(200)]


def test_outbox_sender_default_is_the_module_outbox():
    before = len(OUTBOX.records())
    OutboxSender().send(message(id="m_default"))
    try:
        assert OUTBOX.records()[-1]["id"] == "m_default"
        assert len(OUTBOX.records()) == before + 1
    finally:
        OUTBOX.clear()
