"""CDK assertions: the properties issue 3 asks of every resource, on the synthesized stack."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template

from asusual.intake.models import EventType
from asusual.store.queues import QUEUES
from asusual.store.tables import MAIN_TABLE
from infra.capabilities.delivery import SendPermissions
from infra.config import StageConfig
from infra.foundation.queues import CONSUMER_TIMEOUT, Queues
from infra.foundation.schedules import every

pytestmark = pytest.mark.slow  # the synthesized stack takes 20-60 s: handed out first


def resources(template, kind):
    return template.find_resources(kind)


def test_cdk_nag_has_no_unsuppressed_errors_or_warnings(synthesized):
    stack, _, _ = synthesized
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [e.entry.data for e in errors] == []
    assert [w.entry.data for w in warnings] == []


def test_every_nag_suppression_carries_a_reason(synthesized):
    _, template, _ = synthesized
    suppressions = [
        rule
        for resource in template.to_json()["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert suppressions, "the stack has suppressions (X-Ray wildcards, in-function auth)"
    assert all(len(rule["reason"]) >= 40 for rule in suppressions)


def test_cfn_lint_passes_on_the_synthesized_template(synthesized):
    _, _, assembly = synthesized
    template_file = Path(assembly.directory) / "asusual-test.template.json"
    # W3005: CDK always adds a DependsOn on the role next to the GetAtt; it is redundant, not wrong.
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--ignore-checks",
            "W3005",
            "--",
            str(template_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_run_latest_python_on_arm64_with_json_logs_and_xray(synthesized):
    _, template, _ = synthesized
    functions = resources(template, "AWS::Lambda::Function")
    assert functions
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == lambda_.Runtime.PYTHON_3_14.name
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Handler"].startswith("functions.") and props["Handler"].endswith(
            ".handler.lambda_handler"
        )
        assert len(props["Layers"]) == 1


def test_one_role_per_function(synthesized):
    _, template, _ = synthesized
    roles = [
        f["Properties"]["Role"]["Fn::GetAtt"][0]
        for f in resources(template, "AWS::Lambda::Function").values()
    ]
    assert len(roles) == len(set(roles))


BASE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def role_statements(template, function):
    policies = [p for name, p in resources(template, "AWS::IAM::Policy").items() if function in name]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions_of(statements):
    actions = set()
    for s in statements:
        actions |= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    return actions


def partition_queries(statements):
    """The partitions the Query statements on the table itself are limited to (each statement one)."""
    queries = [
        s for s in statements if s["Action"] == "dynamodb:Query" and "index" not in json.dumps(s["Resource"])
    ]
    return sorted(q["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"][0] for q in queries)


def sources_query(statements):
    """The one Query statement on the table itself, limited to the sources' partition."""
    assert partition_queries(statements) == ["SOURCES"]


def test_intake_role_may_only_read_keys_sources_and_link_secret_and_send_to_the_events_queue(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "intakeapi")
    assert actions_of(statements) == BASE_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:Query",  # pk = SOURCES only: the origins its CORS allows
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "secretsmanager:GetSecretValue",  # the link secret: public sources' signed user ids
        "secretsmanager:DescribeSecret",
    }
    dynamo = next(s for s in statements if s["Action"] == "dynamodb:GetItem")
    assert "index" not in json.dumps(dynamo["Resource"])  # the table, not its indexes
    sources_query(statements)
    assert all(s["Effect"] == "Allow" for s in statements)


SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}


def test_event_processor_role_reads_and_writes_items_consumes_events_and_sends_intents_only(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "eventprocessor")
    assert actions_of(statements) == BASE_ACTIONS | SEND | {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",  # pk = SEGMENTS (the definitions) and her own exposures when an order completes
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "secretsmanager:GetSecretValue",  # the suppression key: events of erased people are dropped
        "secretsmanager:DescribeSecret",
    }
    send = next(s for s in statements if "sqs:SendMessage" in s["Action"])
    assert "IntentsQueue" in json.dumps(send["Resource"])
    assert "dynamodb:Scan" not in actions_of(statements)
    assert partition_queries(statements) == ["SEGMENTS"]
    assert not [
        s for s in statements if "dynamodb:Query" in s["Action"] and "index" in json.dumps(s["Resource"])
    ]


def test_segments_sweep_queries_gsi1_and_the_definitions_and_writes_profiles_with_memberships(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "segmentssweep")
    assert actions_of(statements) == BASE_ACTIONS | {
        "dynamodb:Query",  # gsi1 (the due index) and pk = SEGMENTS: never a scan
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert partition_queries(statements) == ["SEGMENTS"]
    rules = resources(template, "AWS::Events::Rule").values()
    [rule] = [r for r in rules if "segmentssweep" in json.dumps(r["Properties"]["Targets"][0]["Arn"]).lower()]
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 hour)"


def test_segments_worker_consumes_its_queue_one_page_at_a_time_and_sends_the_next(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "segmentsworker")
    assert actions_of(statements) == BASE_ACTIONS | SEND | {
        "dynamodb:GetItem",
        "dynamodb:Query",  # gsi1 (the directory) and a deleted segment's membership partitions
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
    }
    send = next(s for s in statements if "sqs:SendMessage" in s["Action"])
    assert "SegmentsQueue" in json.dumps(send["Resource"])
    [mapping] = [
        m
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "SegmentsQueue" in json.dumps(m["Properties"]["EventSourceArn"])
    ]
    assert mapping["Properties"]["BatchSize"] == 1
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_stock_worker_reads_the_interest_index_sends_intents_and_its_next_page_one_page_at_a_time(
    synthesized,
):
    _, template, _ = synthesized
    statements = role_statements(template, "stockworker")
    assert actions_of(statements) == BASE_ACTIONS | SEND | {
        "dynamodb:Query",  # gsi1 only (the product's interest index): never a scan
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
    }
    queries = [json.dumps(s["Resource"]) for s in statements if "dynamodb:Query" in s["Action"]]
    assert len(queries) == 1 and queries[0].endswith('"/index/gsi1"]]}')
    sends = [json.dumps(s["Resource"]) for s in statements if "sqs:SendMessage" in s["Action"]]
    assert sorted("StockQueue" in r for r in sends) == [False, True]
    assert any("IntentsQueue" in r for r in sends)
    [mapping] = [
        m
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "StockQueue" in json.dumps(m["Properties"]["EventSourceArn"])
    ]
    assert mapping["Properties"]["BatchSize"] == 1
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queues = {name for name in resources(template, "AWS::SQS::Queue")}
    assert any("StockQueue" in q for q in queues) and any(
        "StockDlq" in q or "StockDLQ" in q.upper() for q in queues
    )


@pytest.mark.parametrize(
    ("function", "items"),
    [
        ("birthdaysweep", {"dynamodb:UpdateItem"}),
        ("replenishmentsweep", {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"}),
        ("abandonmentsweep", {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"}),
    ],
)
def test_sweep_roles_query_gsi1_only_and_send_intents(synthesized, function, items):
    _, template, _ = synthesized
    statements = role_statements(template, function)
    assert actions_of(statements) == BASE_ACTIONS | SEND | {"dynamodb:Query"} | items
    query = next(s for s in statements if s["Action"] == "dynamodb:Query")
    assert json.dumps(query["Resource"]).endswith('"/index/gsi1"]]}')  # the index, never the table: no scan


def test_sweeps_run_on_eventbridge_at_their_rate_with_retries(synthesized):
    _, template, _ = synthesized
    rules = resources(template, "AWS::Events::Rule")
    by_target = {json.dumps(r["Properties"]["Targets"][0]["Arn"]): r for r in rules.values()}
    for function, rate in (
        ("birthdaysweep", "rate(1 hour)"),
        ("replenishmentsweep", "rate(1 hour)"),
        ("abandonmentsweep", "rate(15 minutes)"),  # a cart reminder at most 15 minutes late
    ):
        rule = next(r for arn, r in by_target.items() if function in arn.lower())
        assert rule["Properties"]["ScheduleExpression"] == rate
        assert rule["Properties"]["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 2


def test_recommendations_job_role_queries_gsi1_only_and_writes_items_hourly(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "recommendationsjob")
    assert actions_of(statements) == BASE_ACTIONS | {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
    }
    query = next(s for s in statements if s["Action"] == "dynamodb:Query")
    assert json.dumps(query["Resource"]).endswith('"/index/gsi1"]]}')  # the log's hours, never a scan
    rules = resources(template, "AWS::Events::Rule").values()
    [rule] = [
        r for r in rules if "recommendationsjob" in json.dumps(r["Properties"]["Targets"][0]["Arn"]).lower()
    ]
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    assert rule["Properties"]["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 2


def test_recommendations_every_hours_outside_1_to_24_is_refused():
    with pytest.raises(ValueError, match="recommendations_every_hours: 0 must be 1 to 24"):
        StageConfig(recommendations_every_hours=0)


def test_admin_api_role_and_catalog_sources_and_keys_routes(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "adminapi")
    assert (
        actions_of(statements)
        == BASE_ACTIONS
        | {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",  # rotation and revocation: conditional updates in one transaction
            "dynamodb:Query",  # sources: pk = SOURCES on the table; keys: gsi1
            "secretsmanager:GetSecretValue",  # the link secret: public sources' identity secrets
            "secretsmanager:DescribeSecret",
        }
        | SEND
    )  # a segment's first back-fill or deletion page
    sends = [json.dumps(s["Resource"]) for s in statements if "sqs:SendMessage" in s["Action"]]
    assert any("SegmentsQueue" in r for r in sends)
    assert any("StockQueue" in r for r in sends)  # a catalog upload's restocks and price drops
    queries = [json.dumps(s["Resource"]) for s in statements if "dynamodb:Query" in s["Action"]]
    assert len(queries) == 2 and sum(q.endswith('"/index/gsi1"]]}') for q in queries) == 1
    assert all(s["Effect"] == "Allow" for s in statements)
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {
        "POST /v1/catalog/products",
        "GET /v1/catalog/products/{product_id}",
        "GET /v1/sources",
        "POST /v1/sources",
        "POST /v1/sources/{source_id}/rotate",
        "DELETE /v1/sources/{source_id}",
        "GET /v1/sources/{source_id}/identity-secret",
        "GET /v1/keys",
        "POST /v1/keys",
        "DELETE /v1/keys/{key_id}",
        "GET /v1/reports/uplift",
    } <= routes


@pytest.mark.parametrize(
    ("function", "queue"), [("eventprocessor", "EventsQueue"), ("dispatcher", "IntentsQueue")]
)
def test_queue_consumers_report_partial_batch_failures_within_the_visibility_budget(
    synthesized, function, queue
):
    _, template, _ = synthesized
    mappings = resources(template, "AWS::Lambda::EventSourceMapping").values()
    [mapping] = [m for m in mappings if queue in json.dumps(m["Properties"]["EventSourceArn"])]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert function in json.dumps(mapping["Properties"]["FunctionName"]).lower()
    consumer = next(
        f for name, f in resources(template, "AWS::Lambda::Function").items() if function in name.lower()
    )
    assert consumer["Properties"]["Timeout"] <= CONSUMER_TIMEOUT.to_seconds()


def test_dispatcher_role_sends_only_through_the_configured_identities_and_reads_the_link_secret(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "dispatcher")
    assert actions_of(statements) == BASE_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "ses:SendEmail",
        "ses:SendRawEmail",
        "sns:Publish",
        "sns:CheckIfPhoneNumberIsOptedOut",
        "sns:CreatePlatformEndpoint",
        "sns:GetEndpointAttributes",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    assert "sqs:SendMessage" not in actions_of(statements)  # it consumes intents; it never emits them
    index_query = [
        s for s in statements if s["Action"] == "dynamodb:Query" and "index" in json.dumps(s["Resource"])
    ]
    assert [json.dumps(q["Resource"]).endswith('"/index/gsi1"]]}') for q in index_query] == [True]
    assert partition_queries(statements) == ["SEGMENTS"]  # the definitions: why she is in the segment
    [dispatcher] = [f for n, f in resources(template, "AWS::Lambda::Function").items() if "dispatcher" in n]
    env = dispatcher["Properties"]["Environment"]["Variables"]
    assert env["ASUSUAL_DELIVERY_MODE"] == "aws"
    assert env["ASUSUAL_SENDER_EMAIL"] == "shop@example.com"
    assert env["ASUSUAL_SMS_ORIGINATION_NUMBER"] == "+15550001111"
    assert json.loads(env["ASUSUAL_WEBHOOKS"]) == {"store": "https://pos.example.com/asusual"}
    assert "ASUSUAL_LINK_SECRETS_ARN" in env and "ASUSUAL_PUBLIC_BASE_URL" in env
    assert json.loads(env["ASUSUAL_TRIGGER_HOLDOUTS"]) == {"welcome": 10}
    assert env["ASUSUAL_TRIGGER_CONVERSION_DAYS"] == "7"


def secret_readers(template, secret):
    """The roles (policy names, lowercased) that may read the secret whose logical id starts so."""
    return sorted(
        name.lower().split("serviceroledefaultpolicy")[0]
        for name, policy in resources(template, "AWS::IAM::Policy").items()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in s["Action"] and secret in json.dumps(s["Resource"])
    )


def test_link_secret_is_readable_only_by_the_functions_that_sign_or_verify_links_or_identities(synthesized):
    _, template, _ = synthesized
    readers = secret_readers(template, "DeliveryLinkSecret")
    assert len(readers) == 4
    for function in ("dispatcher", "messagesapi", "intakeapi", "adminapi"):  # intake: signed user ids
        assert sum(function in r for r in readers) == 1, function


def test_suppression_key_is_readable_only_by_the_functions_that_suppress_or_match(synthesized):
    _, template, _ = synthesized
    readers = secret_readers(template, "PrivacySuppressionSecret")
    assert len(readers) == 2
    assert any("eventprocessor" in r for r in readers) and any("profilesapi" in r for r in readers)
    secrets = resources(template, "AWS::SecretsManager::Secret")
    [arn_of] = [name for name in secrets if name.startswith("PrivacySuppressionSecret")]
    for function in ("eventprocessor", "profilesapi"):
        found = next(
            f for name, f in resources(template, "AWS::Lambda::Function").items() if function in name.lower()
        )
        assert found["Properties"]["Environment"]["Variables"]["ASUSUAL_SUPPRESSION_SECRETS_ARN"] == {
            "Ref": arn_of
        }


def test_deferred_sweep_runs_every_15_minutes_and_only_queries_gsi1_deletes_and_sends_intents(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "deferredsweep")
    assert actions_of(statements) == BASE_ACTIONS | SEND | {"dynamodb:Query", "dynamodb:DeleteItem"}
    rules = resources(template, "AWS::Events::Rule").values()
    [rule] = [r for r in rules if "deferredsweep" in json.dumps(r["Properties"]["Targets"][0]["Arn"]).lower()]
    assert rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"


def test_decide_and_messages_apis_have_their_roles_and_routes(synthesized):
    _, template, _ = synthesized
    decide = role_statements(template, "decideapi")
    assert actions_of(decide) == BASE_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",  # gsi1 (the offer pool); pk = SOURCES (the page's origins) and SEGMENTS
    }
    assert partition_queries(decide) == ["SEGMENTS", "SOURCES"]
    assert actions_of(role_statements(template, "messagesapi")) == BASE_ACTIONS | SEND | {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",  # the pages read the customer's profile, following merges
        "dynamodb:Query",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {
        "POST /v1/decide",
        "POST /v1/decide/visitor",
        "OPTIONS /v1/decide/visitor",
        "GET /v1/messages/{message_id}/why",
        "GET /v1/messages",
        "GET /v1/unsubscribe",
        "POST /v1/unsubscribe",
        "POST /v1/resubscribe",
        "GET /v1/preferences",
        "POST /v1/preferences",
    } <= routes
    [messages_api] = [
        f for n, f in resources(template, "AWS::Lambda::Function").items() if "messagesapi" in n.lower()
    ]
    env = messages_api["Properties"]["Environment"]["Variables"]
    assert (env["ASUSUAL_RETAILER_NAME"], env["ASUSUAL_BRAND_COLOR"]) == ("Лавка «Ромашка»", "#0b6e4f")
    assert "ASUSUAL_DEFAULT_LOCALE" not in env  # not configured: the settings' default applies


def test_profiles_api_role_and_routes_with_the_privacy_requests(synthesized):
    _, template, _ = synthesized
    statements = role_statements(template, "profilesapi")
    assert actions_of(statements) == BASE_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",  # the erasure audit record and suppressions
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",  # an unmerge rewrites birthday entries; an erasure deletes
        "dynamodb:BatchWriteItem",  # an erasure deletes in batches of 25
        "dynamodb:Query",  # the person's partitions, and on gsi1 the message log, orders, deferrals
        "secretsmanager:GetSecretValue",  # the suppression key: erasure suppresses, a lift forgets
        "secretsmanager:DescribeSecret",
    }
    assert any("index/gsi1" in json.dumps(s.get("Resource")) for s in statements if "dynamodb:Query" in
               json.dumps(s.get("Action")))  # fmt: skip
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {
        "GET /v1/profiles/{identifier_type}/{value}",
        "DELETE /v1/profiles/{identifier_type}/{value}",
        "GET /v1/profiles/{identifier_type}/{value}/export",
        "DELETE /v1/profiles/{identifier_type}/{value}/suppression",
        "POST /v1/profiles/{profile_id}/unmerge",
    } <= routes
    functions = resources(template, "AWS::Lambda::Function")
    profiles_api = next(f for name, f in functions.items() if "profilesapi" in name)
    assert profiles_api["Properties"]["Timeout"] == 29


def test_no_function_puts_answers_or_errors_in_traces_and_retention_is_configured(synthesized):
    _, template, _ = synthesized
    for name, function in resources(template, "AWS::Lambda::Function").items():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        if "ASUSUAL_TABLE_NAME" not in env:
            continue  # CDK's own helper functions
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", name
        assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", name
        assert (env["ASUSUAL_DEDUPE_DAYS"], env["ASUSUAL_MESSAGE_LOG_DAYS"]) == ("30", "400"), name


def test_queues_have_dlqs_encryption_tls_only_and_long_enough_visibility(synthesized):
    _, template, _ = synthesized
    queues = resources(template, "AWS::SQS::Queue")
    assert len(queues) == 2 * len(QUEUES)
    main = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(main) == len(QUEUES)
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    for queue in main:
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * CONSUMER_TIMEOUT.to_seconds()
    policies = resources(template, "AWS::SQS::QueuePolicy")
    denied = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denied) == len(queues)


def test_table_has_pitr_encryption_ttl_and_the_data_model_indexes(synthesized):
    _, template, _ = synthesized
    [table] = resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": MAIN_TABLE.ttl_attribute, "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert set(indexes) == {i.name for i in MAIN_TABLE.indexes}
    for spec in MAIN_TABLE.indexes:
        assert [k["AttributeName"] for k in indexes[spec.name]["KeySchema"]] == [
            spec.partition_key,
            spec.sort_key,
        ]


def test_api_stage_throttles_and_writes_access_logs_and_routes_intake(synthesized):
    _, template, _ = synthesized
    [stage] = resources(template, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 2000, "ThrottlingRateLimit": 1000}
    assert "DestinationArn" in props["AccessLogSettings"]
    assert json.loads(props["AccessLogSettings"]["Format"])["status"] == "$context.status"
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {f"POST /v1/{k}" for k in ("batch", *EventType)} <= routes


def test_alarms_cover_dlq_depth_age_errors_throttles_and_api_5xx_and_notify_the_topic(synthesized):
    _, template, _ = synthesized
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    metrics = {a["Properties"]["MetricName"] for a in alarms}
    assert {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
        "5xx",
    } <= metrics
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    [topic] = resources(template, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_outputs_give_the_api_url_and_how_to_create_the_first_source(synthesized):
    _, template, _ = synthesized
    outputs = template.to_json()["Outputs"]
    assert {"ApiUrl", "TableName", "EventsQueueUrl", "CreateFirstSource", "LinkSecretArn"} <= set(outputs)
    assert "sources create" in json.dumps(outputs["CreateFirstSource"])


def _bare_stack():
    app = App()
    return Stack(app, "probe", env={"account": "111122223333", "region": "eu-central-1"})


def _function(stack, timeout):
    return lambda_.Function(
        stack,
        f"fn{timeout}",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="x.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        timeout=Duration.seconds(timeout),
    )


def test_queue_consumer_reports_batch_item_failures():
    stack = _bare_stack()
    queues = Queues(stack, "Queues")
    queues.consume("events", _function(stack, 30))
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10},
    )


def test_queue_consumer_slower_than_the_visibility_budget_is_refused():
    stack = _bare_stack()
    with pytest.raises(ValueError, match="timeout"):
        Queues(stack, "Queues").consume("events", _function(stack, 31))


def test_schedule_invokes_its_function_at_the_rate():
    stack = _bare_stack()
    every(stack, "birthday", Duration.hours(1), _function(stack, 30))
    Template.from_stack(stack).has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 hour)", "State": "ENABLED"}
    )


def test_delivery_grants_are_scoped_to_the_configured_identities():
    stack = _bare_stack()
    delivery = SendPermissions(
        stack,
        sender_email="shop@example.com",
        sms_origination="+15550001111",
        push_platform_applications={"apns": "arn:aws:sns:eu-central-1:111122223333:app/APNS/shop"},
    )
    function = _function(stack, 30)
    delivery.grant_send(function)
    statements = [
        s
        for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    ses = next(s for s in statements if "ses:SendEmail" in s["Action"])
    rendered = [json.dumps(r) for r in ses["Resource"]]
    assert len(rendered) == 2
    assert ":ses:eu-central-1:111122223333:identity/shop@example.com" in rendered[0]
    assert ":ses:eu-central-1:111122223333:identity/example.com" in rendered[1]
    sms = next(s for s in statements if s["Resource"] == "*" and "sns:Publish" in s["Action"])
    assert sms["Action"] == ["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"]
    assert sms["Effect"] == "Allow"  # SMS to a phone number has no resource ARN
    create = next(s for s in statements if s["Action"] == "sns:CreatePlatformEndpoint")
    assert create["Resource"] == "arn:aws:sns:eu-central-1:111122223333:app/APNS/shop"
    push = next(s for s in statements if s["Action"] == ["sns:Publish", "sns:GetEndpointAttributes"])
    assert json.dumps(push["Resource"]).endswith(':sns:eu-central-1:111122223333:endpoint/*"]]}')


def test_delivery_without_identities_grants_nothing():
    stack = _bare_stack()
    SendPermissions(stack, sender_email=None, sms_origination=None).grant_send(_function(stack, 30))
    assert Template.from_stack(stack).find_resources("AWS::IAM::Policy") == {}


def test_event_processor_receives_batches_of_100_within_a_1_second_window_by_default(synthesized):
    _, template, _ = synthesized
    mappings = resources(template, "AWS::Lambda::EventSourceMapping").values()
    [mapping] = [m for m in mappings if "EventsQueue" in json.dumps(m["Properties"]["EventSourceArn"])]
    assert mapping["Properties"]["BatchSize"] == 100
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == 1


def test_events_batch_is_read_from_cdk_context():
    app = App(context={"events_batch_size": "250", "events_batching_window_seconds": "3"})
    config = StageConfig.from_app(app)
    assert (config.events_batch_size, config.events_batching_window_seconds) == (250, 3)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"events_batch_size": 0}, "events_batch_size"),
        ({"events_batch_size": 1001}, "events_batch_size"),
        ({"events_batching_window_seconds": 301}, "events_batching_window_seconds"),
        ({"events_batch_size": 11, "events_batching_window_seconds": 0}, "events_batching_window_seconds"),
    ],
)
def test_events_batch_outside_what_sqs_mappings_allow_is_refused_naming_the_field(settings, field):
    with pytest.raises(ValueError, match=field):
        StageConfig(**settings)


def test_stage_name_is_validated():
    with pytest.raises(ValueError, match="stage"):
        StageConfig(stage="Prod Stage")


def test_retention_days_are_validated():
    with pytest.raises(ValueError, match="message_log_days"):
        StageConfig(message_log_days=0)
    with pytest.raises(ValueError, match="dedupe_days"):
        StageConfig(dedupe_days=400)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("brand_color", "blue"),
        ("brand_color", "#12345"),
        ("default_locale", "de"),
        ("retailer_name", "x" * 81),
    ],
)
def test_page_settings_are_validated_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        StageConfig(**{field: value})


def test_page_settings_are_read_from_cdk_context():
    app = App(context={"retailer_name": "Shop", "brand_color": "#0b6e4f", "default_locale": "en"})
    config = StageConfig.from_app(app)
    assert (config.retailer_name, config.brand_color, config.default_locale) == ("Shop", "#0b6e4f", "en")


@pytest.mark.parametrize(
    ("holdouts", "message"),
    [
        ({"order_status": 10}, "trigger holdouts: 'order_status' is never held out"),
        ({"welcome": 60}, "trigger holdouts: 'welcome': 60 is not a whole percent from 0 to 50"),
    ],
)
def test_trigger_holdouts_are_validated_naming_the_kind(holdouts, message):
    with pytest.raises(ValueError, match=message):
        StageConfig(trigger_holdouts=holdouts)
    with pytest.raises(ValueError, match=message):
        StageConfig.from_app(App(context={"trigger_holdouts": json.dumps(holdouts)}))


def test_trigger_holdouts_are_read_from_cdk_context():
    app = App(context={"trigger_holdouts": '{"welcome": 10, "birthday": 5}', "trigger_conversion_days": "14"})
    config = StageConfig.from_app(app)
    assert (config.trigger_holdouts, config.trigger_conversion_days) == ({"welcome": 10, "birthday": 5}, 14)


def test_prod_retains_data_and_dev_does_not():
    assert StageConfig(stage="prod").retain_data and not StageConfig(stage="dev").retain_data


def test_every_function_is_deployed_with_every_setting_its_handler_requires(synthesized):
    """asusual.settings: a deployed handler refuses to start without them, so the stack must give them."""
    import importlib

    _, template, _ = synthesized
    functions = {
        name: f
        for name, f in resources(template, "AWS::Lambda::Function").items()
        if "ASUSUAL_TABLE_NAME" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    checked = set()
    for package in sorted(
        p.name for p in (Path(__file__).parents[2] / "functions").iterdir() if (p / "handler.py").exists()
    ):
        handler = importlib.import_module(f"functions.{package}.handler")
        [function] = [f for name, f in functions.items() if package.replace("_", "") in name.lower()]
        env = function["Properties"]["Environment"]["Variables"]
        assert env["ASUSUAL_STAGE"] != "local" and {"ASUSUAL_TABLE_NAME", "ASUSUAL_REGION"} <= set(env)
        for needed in handler.REQUIRED_SETTINGS:
            assert any(f"ASUSUAL_{n.upper()}" in env for n in needed.split("|")), (package, needed)
        checked.add(package)
    assert len(checked) == len(functions) == 16
