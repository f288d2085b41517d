"""`make serve DYNAMODB_ENDPOINT=...`: the local stack with its table in DynamoDB Local (a real
DynamoDB Local process from infra/node_modules, see `make npm`), everything else on moto."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders

from asusual import clock as clock_module
from asusual.clock import ManualClock
from asusual.local import runtime as runtime_module
from asusual.local import serve
from asusual.local.dynamodb_local import DynamoDBLocal
from asusual.local.gateway import LocalGateway
from asusual.local.runtime import (
    LOCAL_SOURCES,
    READ_KEY,
    LocalRuntime,
    LocalSetupError,
    dynamodb_region,
    is_aws_endpoint,
)
from asusual.store import clients
from asusual.store.profiles import profile_from_item
from tests.conftest import T0
from tests.integration.local_http import http

pytestmark = pytest.mark.slow

LOCAL_KEYS = len(LOCAL_SOURCES) + 2  # the write keys, the read key and the admin key


@pytest.fixture
def ddb(dynamodb_local: DynamoDBLocal) -> DynamoDBLocal:
    """The test process's DynamoDB Local (tests/conftest.py); each test makes tables of its own."""
    return dynamodb_local


@pytest.fixture(autouse=True)
def isolated_process_state() -> Iterator[None]:
    """LocalRuntime sets environment variables and module caches for the handlers: undo them."""
    saved_env = dict(os.environ)
    saved_clock = clock_module.set_clock(clock_module.get_clock())
    yield
    os.environ.clear()
    os.environ.update(saved_env)
    clock_module.set_clock(saved_clock)
    LocalRuntime._reset_caches()


@contextmanager
def serving(endpoint: str, table: str, now=T0) -> Iterator[tuple[LocalRuntime, LocalGateway]]:
    with LocalRuntime(
        clock=ManualClock(now, frozen=True), dynamodb_endpoint=endpoint, table_name=table
    ) as rt:
        gateway = LocalGateway(rt, port=0).start()
        try:
            yield rt, gateway
        finally:
            gateway.stop()


def identify_and_run(gateway, user_id: str, email: str) -> dict:
    status, body = http(
        gateway,
        "POST",
        "/v1/identify",
        {"userId": user_id, "traits": {"email": email, "firstName": "Анна"}},
        key="web_local_key",
    )
    assert status == 200, body
    status, report = http(gateway, "POST", "/_local/run")
    assert status == 200, report
    assert report["queues"]["events"]["delivered"] == 1 and report["queues"]["events"]["dead_lettered"] == 0
    status, profile = http(gateway, "GET", f"/v1/profiles/user_id/{user_id}", key=READ_KEY)
    assert status == 200, profile
    return profile


def scan(ddb: DynamoDBLocal, table: str) -> dict[tuple[str, str], dict]:
    """Every item of the table, read straight from DynamoDB Local (not through the runtime)."""
    pages = ddb.client().get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return {(i["pk"]["S"], i["sk"]["S"]): i for page in pages for i in page["Items"]}


def new_table() -> str:
    return f"asusual-test-{uuid.uuid4().hex[:10]}"


def test_profile_from_the_api_is_stored_in_dynamodb_local(ddb):
    table = new_table()
    with serving(ddb.endpoint, table) as (runtime, gateway):
        assert runtime.table_created
        profile = identify_and_run(gateway, "u-ddb-1", "anna@example.com")
    assert profile["email"] == "anna@example.com"
    items = scan(ddb, table)
    stored = items[(f"PROFILE#{profile['profile_id']}", "PROFILE")]
    assert profile_from_item(stored).profile_id == profile["profile_id"]  # the whole profile, compressed
    assert items[("ID#user_id#u-ddb-1", "ID")]["profile_id"]["S"] == profile["profile_id"]
    assert items[("ID#email#anna@example.com", "ID")]["profile_id"]["S"] == profile["profile_id"]
    assert sum(pk.startswith("APIKEY#") for pk, _ in items) == LOCAL_KEYS
    assert {sk for pk, sk in items if pk == "SOURCES"} == {f"SOURCE#{s.source_id}" for s in LOCAL_SOURCES}
    description = ddb.client().describe_table(TableName=table)["Table"]
    assert [i["IndexName"] for i in description["GlobalSecondaryIndexes"]] == ["gsi1"]


def test_a_second_start_reuses_the_table_its_keys_and_its_profiles(ddb):
    table = new_table()
    with serving(ddb.endpoint, table) as (_runtime, gateway):
        first = identify_and_run(gateway, "u-ddb-2", "boris@example.com")
    keys_before = {k: v for k, v in scan(ddb, table).items() if k[0].startswith("APIKEY#")}

    with serving(ddb.endpoint, table, now=T0 + timedelta(days=1)) as (runtime, gateway):
        assert not runtime.table_created
        status, again = http(gateway, "GET", "/v1/profiles/user_id/u-ddb-2", key=READ_KEY)
        assert status == 200 and again["profile_id"] == first["profile_id"]
        assert again["email"] == "boris@example.com"
        # the seeded keys still work, and new events still land
        other = identify_and_run(gateway, "u-ddb-3", "vera@example.com")
        assert other["profile_id"] != first["profile_id"]

    items = scan(ddb, table)
    assert {k: v for k, v in items.items() if k[0].startswith("APIKEY#")} == keys_before  # not re-seeded
    assert sum(pk == "SOURCES" for pk, _ in items) == len(LOCAL_SOURCES)
    assert sum(sk == "PROFILE" for _, sk in items) == 2


@pytest.mark.parametrize(
    ("schema", "complaint"),
    [
        (
            {
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            },
            "key schema is id (HASH), expected pk (HASH), sk (RANGE)",
        ),
        (
            {
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            },
            "global secondary index 'gsi1' is missing",
        ),
    ],
)
def test_a_table_of_another_shape_is_refused_with_its_name(ddb, clock, capsys, schema, complaint):
    table = new_table()
    ddb.client().create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **schema)
    before = clock_module.get_clock()

    with pytest.raises(LocalSetupError) as err:
        LocalRuntime(clock=clock, dynamodb_endpoint=ddb.endpoint, table_name=table).start()
    assert f"table {table!r}" in str(err.value) and complaint in str(err.value)
    assert clock_module.get_clock() is before  # nothing of the failed start is left running

    assert serve.main(["--port", "0", "--dynamodb-endpoint", ddb.endpoint, "--table", table]) == 1
    assert f"table {table!r}" in capsys.readouterr().err
    assert set(scan(ddb, table)) == set()  # nothing was written into it


def test_serve_takes_the_endpoint_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASUSUAL_DYNAMODB_ENDPOINT", "http://127.0.0.1:8000/")
    args = serve.parse_args(["--table", "mine"])
    assert (args.dynamodb_endpoint, args.table) == ("http://127.0.0.1:8000", "mine")
    monkeypatch.delenv("ASUSUAL_DYNAMODB_ENDPOINT")
    assert serve.parse_args([]).dynamodb_endpoint is None
    with pytest.raises(SystemExit):
        serve.parse_args(["--dynamodb-endpoint", "127.0.0.1:8000"])


@pytest.mark.parametrize(
    ("endpoint", "aws", "region"),
    [
        (None, False, "eu-central-1"),
        ("http://127.0.0.1:8000", False, "eu-central-1"),
        ("http://localhost:4566", False, "eu-central-1"),
        ("https://dynamodb.us-west-2.amazonaws.com", True, "us-west-2"),
        ("https://dynamodb-fips.us-gov-west-1.amazonaws.com", True, "us-gov-west-1"),
        ("https://vpce-0abc.dynamodb.ap-southeast-2.vpce.amazonaws.com", True, "ap-southeast-2"),
        ("https://dynamodb.cn-north-1.amazonaws.com.cn", True, "cn-north-1"),
    ],
)
def test_endpoint_kind_and_region(endpoint, aws, region):
    assert is_aws_endpoint(endpoint) is aws
    assert dynamodb_region(endpoint) == region


def test_real_dynamodb_is_passed_through_moto_and_keeps_the_users_credentials(monkeypatch, clock):
    """No request leaves the machine: the table step is replaced by a probe that looks at what
    moto would do with a DynamoDB request while the runtime's mock is active."""
    from moto.core.models import botocore_stubber

    endpoint = "https://dynamodb.us-west-2.amazonaws.com"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSOWNKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "users-own-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    seen = {}

    class Probed(Exception):
        pass

    def probe(client, table_name):
        headers = HTTPHeaders()
        headers["X-Amz-Target"] = "DynamoDB_20120810.DescribeTable"
        headers["Content-Type"] = "application/x-amz-json-1.0"
        request = AWSPreparedRequest("POST", endpoint + "/", headers, b"{}", stream_output=False)
        seen["moto answers dynamodb"] = botocore_stubber.process_request(request) is not None
        seen["queue"] = clients.sqs().create_queue(QueueName="probe")["QueueUrl"]  # still in moto
        seen["client"] = (client.meta.endpoint_url, client.meta.region_name, table_name)
        seen["credentials"] = (os.environ["AWS_ACCESS_KEY_ID"], os.environ.get("AWS_SESSION_TOKEN"))
        raise Probed

    monkeypatch.setattr(runtime_module, "ensure_main_table", probe)
    with pytest.raises(Probed):
        LocalRuntime(clock=clock, dynamodb_endpoint=endpoint, table_name="my-local").start()
    assert seen["moto answers dynamodb"] is False
    assert seen["queue"].startswith("https://sqs.us-west-2.amazonaws.com/")
    assert seen["client"] == (endpoint, "us-west-2", "my-local")
    assert seen["credentials"] == ("AKIAUSERSOWNKEY", None)
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAUSERSOWNKEY"


def test_a_local_endpoint_is_not_intercepted_by_moto(ddb, clock):
    from moto.core.models import botocore_stubber

    with LocalRuntime(clock=clock, dynamodb_endpoint=ddb.endpoint, table_name=new_table()):
        headers = HTTPHeaders()
        headers["X-Amz-Target"] = "DynamoDB_20120810.ListTables"
        request = AWSPreparedRequest("POST", ddb.endpoint + "/", headers, b"{}", stream_output=False)
        assert botocore_stubber.process_request(request) is None
        assert clients.dynamodb().meta.endpoint_url == ddb.endpoint
