"""Local mode's queues (asusual.local.queues): SQS semantics behind the real boto3 client —
batches of 10, visibility timeouts on real elapsed time, partial batch failures, redrive to the
dead-letter queue after maxReceiveCount, SQS's error shapes — and the runtime's counts."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from asusual.local.gateway import LocalGateway
from asusual.local.queues import LocalQueues
from asusual.local.runtime import ACCOUNT, Consumer
from asusual.store.dynamo import classify_aws_error
from asusual.store.queues import EVENTS_QUEUE
from tests.integration.local_http import http

REGION = "eu-central-1"
SENT_MS = int(datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp() * 1000)
ATTRIBUTES = {
    "type": {"DataType": "String", "StringValue": "track"},
    "count": {"DataType": "Number", "StringValue": "42"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
    "channel": {"DataType": "String.custom", "StringValue": "веб"},
}


class Seconds:
    """The queues' monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds():
    return Seconds()


@pytest.fixture
def sqs(seconds):
    """A boto3 SQS client answered by fresh local queues; moto is on, so nothing could leave."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.session.Session(region_name=REGION).client(
            "sqs", aws_access_key_id="local", aws_secret_access_key="local"
        )
        LocalQueues(ACCOUNT, monotonic=seconds, now_ms=lambda: SENT_MS).attach(client)
        yield client


@pytest.fixture
def queue(sqs):
    """The events queue as the runtime creates it: visibility 180 s, DLQ after 5 receives."""
    dlq = sqs.create_queue(QueueName=EVENTS_QUEUE.dlq_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "5"})
    url = sqs.create_queue(
        QueueName=EVENTS_QUEUE.name, Attributes={"VisibilityTimeout": "180", "RedrivePolicy": policy}
    )["QueueUrl"]
    return url, dlq


def send(sqs, url, *bodies):
    response = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": b} for i, b in enumerate(bodies)]
    )
    assert [s["Id"] for s in response["Successful"]] == [f"e{i}" for i in range(len(bodies))]
    return [s["MessageId"] for s in response["Successful"]]


def receive(sqs, url, count=10, **kwargs):
    return sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        **kwargs,
    ).get("Messages", [])


def counts(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return tuple(
        int(attributes[f"ApproximateNumberOfMessages{suffix}"]) for suffix in ("", "NotVisible", "Delayed")
    )


def test_queue_urls_and_arns_are_sqs_shaped_and_moto_holds_no_queue(sqs, queue):
    from moto.sqs.models import sqs_backends

    url, dlq = queue
    assert url == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/events"
    assert dlq == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/events-dlq"
    assert sqs.get_queue_url(QueueName="events")["QueueUrl"] == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "VisibilityTimeout"])
    assert attributes["Attributes"] == {
        "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:events",
        "VisibilityTimeout": "180",
    }
    assert sqs_backends[ACCOUNT][REGION].queues == {}


def test_send_message_batch_of_ten_is_received_oldest_first_with_attributes_and_md5s(sqs, queue):
    url, _ = queue
    bodies = [json.dumps({"n": i, "text": "привет"}, ensure_ascii=False) for i in range(10)]
    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"m{i}", "MessageBody": b, "MessageAttributes": ATTRIBUTES} for i, b in enumerate(bodies)
        ],
    )
    assert response["Failed"] == [] and len(response["Successful"]) == 10
    first = response["Successful"][0]
    assert first["MD5OfMessageBody"] == hashlib.md5(bodies[0].encode()).hexdigest()
    messages = receive(sqs, url)
    assert [m["Body"] for m in messages] == bodies
    assert [m["MessageId"] for m in messages] == [s["MessageId"] for s in response["Successful"]]
    message = messages[0]
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfBody"] == first["MD5OfMessageBody"]
    assert message["MD5OfMessageAttributes"] == first["MD5OfMessageAttributes"]
    assert message["Attributes"] == {
        "SenderId": ACCOUNT,
        "SentTimestamp": str(SENT_MS),
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": str(SENT_MS),
    }


def test_md5_digests_are_those_moto_sqs_computes_for_the_same_message(sqs, queue):
    import boto3

    url, _ = queue
    body = json.dumps({"userId": "u-1", "name": "Анна"}, ensure_ascii=False)
    ours = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    moto_sqs = boto3.session.Session(region_name=REGION).client(
        "sqs", aws_access_key_id="local", aws_secret_access_key="local"
    )  # not attached: moto answers it
    moto_url = moto_sqs.create_queue(QueueName="reference")["QueueUrl"]
    theirs = moto_sqs.send_message(QueueUrl=moto_url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    assert (ours["MD5OfMessageBody"], ours["MD5OfMessageAttributes"]) == (
        theirs["MD5OfMessageBody"],
        theirs["MD5OfMessageAttributes"],
    )


@pytest.mark.parametrize(
    ("entries", "shape", "code"),
    [
        ([{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest",
         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ([], "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest"),
        ([{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}], "BatchEntryIdsNotDistinct",
         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ([{"Id": "not valid!", "MessageBody": "x"}], "InvalidBatchEntryId",
         "AWS.SimpleQueueService.InvalidBatchEntryId"),
        ([{"Id": "a", "MessageBody": "x" * 200_000}, {"Id": "b", "MessageBody": "x" * 62_145}],
         "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"),
    ],
)  # fmt: skip
def test_send_message_batch_refused_whole_raises_sqs_client_error_and_sends_nothing(
    sqs, queue, entries, shape, code
):
    url, _ = queue
    with pytest.raises(ClientError) as err:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert isinstance(err.value, getattr(sqs.exceptions, shape))
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert classify_aws_error(err.value, "the events queue") is None  # a fault, not retried
    assert counts(sqs, url) == (0, 0, 0)


def test_send_message_batch_with_one_invalid_entry_fails_that_entry_only(sqs, queue):
    url, _ = queue
    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "ok", "MessageBody": "x"}, {"Id": "bad", "MessageBody": "nul \x00 inside"}],
    )
    assert [s["Id"] for s in response["Successful"]] == ["ok"]
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("bad", "InvalidMessageContents", True)
    assert counts(sqs, url) == (1, 0, 0)


def test_unknown_queue_raises_queue_does_not_exist_which_callers_do_not_retry(sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as err:
        sqs.send_message(QueueUrl=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/nope", MessageBody="x")
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert classify_aws_error(err.value, "the events queue") is None


def test_operation_the_local_queues_do_not_keep_raises_unsupported_operation(sqs, queue):
    url, _ = queue
    with pytest.raises(sqs.exceptions.UnsupportedOperation) as err:
        sqs.purge_queue(QueueUrl=url)
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.UnsupportedOperation"


def test_received_message_reappears_only_after_its_visibility_timeout(sqs, queue, seconds):
    url, _ = queue
    [sent] = send(sqs, url, "one")
    [first] = receive(sqs, url, VisibilityTimeout=30)
    assert counts(sqs, url) == (0, 1, 0)
    seconds.now += 29.9
    assert receive(sqs, url) == []
    seconds.now += 0.1
    [again] = receive(sqs, url, VisibilityTimeout=30)
    assert again["MessageId"] == first["MessageId"] == sent
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert (
        first["Attributes"]["ApproximateReceiveCount"],
        again["Attributes"]["ApproximateReceiveCount"],
    ) == (
        "1",
        "2",
    )


def test_receive_without_visibility_timeout_hides_for_the_queues_180_seconds(sqs, queue, seconds):
    url, _ = queue
    send(sqs, url, "one")
    assert len(receive(sqs, url)) == 1
    seconds.now += 179.9
    assert receive(sqs, url) == []
    seconds.now += 0.1
    assert len(receive(sqs, url)) == 1


def test_receive_gives_at_most_max_number_of_messages_and_at_most_ten(sqs, queue):
    url, _ = queue
    for start in range(0, 25, 10):
        send(sqs, url, *(f"m{i}" for i in range(start, min(start + 10, 25))))
    assert [len(receive(sqs, url, count)) for count in (3, 10, 10, 10)] == [3, 10, 10, 2]
    with pytest.raises(ClientError) as err:
        receive(sqs, url, 11)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_change_message_visibility_to_zero_makes_messages_visible_at_once(sqs, queue):
    url, _ = queue
    send(sqs, url, "a", "b", "c")
    a, b, _c = receive(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=a["ReceiptHandle"], VisibilityTimeout=0)
    response = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "b", "ReceiptHandle": b["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "bad", "ReceiptHandle": "bm90IGEgcmVjZWlwdA==", "VisibilityTimeout": 0},
        ],
    )
    assert [s["Id"] for s in response["Successful"]] == ["b"]
    assert [(f["Id"], f["Code"]) for f in response["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    assert counts(sqs, url) == (2, 1, 0)
    assert [m["Body"] for m in receive(sqs, url)] == ["a", "b"]  # oldest first, as sent


def test_change_visibility_of_a_message_not_in_flight_raises_message_not_inflight(sqs, queue):
    url, _ = queue
    send(sqs, url, "a")
    [message] = receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.MessageNotInflight) as err:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.MessageNotInflight"


def test_delete_message_batch_with_an_invalid_receipt_fails_that_entry_only(sqs, queue):
    url, _ = queue
    send(sqs, url, "a", "b")
    a, b = receive(sqs, url)
    response = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": a["ReceiptHandle"]},
            {"Id": "garbage", "ReceiptHandle": "garbage"},
        ],
    )
    assert response["Successful"] == [{"Id": "a"}]
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "garbage",
        "ReceiptHandleIsInvalid",
        True,
    )
    assert counts(sqs, url) == (0, 1, 0)
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "b", "ReceiptHandle": b["ReceiptHandle"]}])
    assert counts(sqs, url) == (0, 0, 0)


def test_message_received_five_times_moves_to_the_dlq_on_the_sixth_receive(sqs, queue):
    url, dlq = queue
    [sent] = send(sqs, url, "poison")
    seen = []
    for _ in range(6):
        for message in receive(sqs, url):
            seen.append(message["Attributes"]["ApproximateReceiveCount"])
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    assert seen == ["1", "2", "3", "4", "5"]
    assert counts(sqs, url) == (0, 0, 0)
    [dead] = receive(sqs, dlq)
    assert (dead["MessageId"], dead["Body"]) == (sent, "poison")


def test_delay_seconds_keeps_a_message_delayed_then_visible(sqs, queue, seconds):
    url, _ = queue
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert counts(sqs, url) == (0, 0, 1)
    assert receive(sqs, url) == []
    seconds.now += 60
    assert counts(sqs, url) == (1, 0, 0)
    assert [m["Body"] for m in receive(sqs, url)] == ["later"]


def test_botocore_hooks_of_the_client_still_see_each_call(sqs, queue):
    url, _ = queue
    calls = []
    sqs.meta.events.register("after-call.sqs.*", lambda model, parsed, **_: calls.append(model.name))
    send(sqs, url, "a")
    receive(sqs, url)
    assert calls == ["SendMessageBatch", "ReceiveMessage"]


# -- through the local runtime -------------------------------------------------------------------


def test_runtime_sqs_client_and_publisher_use_the_local_queues_in_batches_of_ten(runtime):
    from moto.sqs.models import sqs_backends

    from asusual.store import clients
    from asusual.store.queues import SqsPublisher

    client = clients.sqs()
    sizes = []
    client.meta.events.register(
        "before-parameter-build.sqs.SendMessageBatch",
        lambda params, **_: sizes.append(len(params["Entries"])),
    )
    publisher = SqsPublisher(
        client, runtime.queue_urls["events"], lambda b: {"MessageBody": b}, what="events"
    )
    publisher.publish([f"m{i}" for i in range(25)])
    assert sorted(sizes) == [5, 10, 10]
    assert runtime.depth("events") == 25
    assert sorted(m["Body"] for m in runtime.peek("events", limit=100)) == sorted(f"m{i}" for i in range(25))
    assert sqs_backends[ACCOUNT][runtime.region].queues == {}


def test_peek_shows_messages_as_the_next_receive_would_and_leaves_them_unreceived(runtime):
    from asusual.store import clients

    url = runtime.queue_urls["events"]
    clients.sqs().send_message(QueueUrl=url, MessageBody="a", MessageAttributes=ATTRIBUTES)
    for _ in range(7):  # more than maxReceiveCount: peeking never counts as a receive
        [peeked] = runtime.peek("events")
        assert (peeked["Body"], peeked["Attributes"]["ApproximateReceiveCount"]) == ("a", "1")
        assert peeked["MessageAttributes"] == ATTRIBUTES
    [message] = receive(clients.sqs(), url)
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["MD5OfMessageAttributes"] == peeked["MD5OfMessageAttributes"]
    clients.sqs().change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    clients.sqs().delete_message(QueueUrl=url, ReceiptHandle=runtime.peek("events")[0]["ReceiptHandle"])
    assert runtime.depth("events") == 0


@pytest.fixture
def server(runtime):
    gateway = LocalGateway(runtime, port=0).start()
    yield gateway
    gateway.stop()


def test_local_run_counts_delivered_failed_waiting_and_dead_lettered(server, runtime):
    from asusual.store import clients

    received = {}

    def consumer(event, context):
        failures = []
        for record in event["Records"]:
            body = record["body"]
            received[body] = received.get(body, 0) + 1
            if body.startswith("poison") or (body.startswith("flaky") and received[body] == 1):
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    runtime.add_consumer("events", Consumer("event_processor", consumer))
    url = runtime.queue_urls["events"]
    send(clients.sqs(), url, "held")
    [held] = receive(clients.sqs(), url, 1, VisibilityTimeout=600)  # someone else has it in flight
    assert held["Body"] == "held"
    bodies = [f"ok-{i}" for i in range(20)] + ["flaky-1", "flaky-2", "poison-1"]
    for start in range(0, len(bodies), 10):
        send(clients.sqs(), url, *bodies[start : start + 10])
    status, report = http(server, "POST", "/_local/run")
    assert status == 200
    assert report["queues"]["events"] == {"delivered": 22, "failed": 7, "waiting": 1, "dead_lettered": 1}
    assert received == {**{f"ok-{i}": 1 for i in range(20)}, "flaky-1": 2, "flaky-2": 2, "poison-1": 5}
    assert http(server, "POST", "/_local/run")[1]["queues"]["events"] == {
        "delivered": 0,
        "failed": 0,
        "waiting": 1,
        "dead_lettered": 1,
    }
