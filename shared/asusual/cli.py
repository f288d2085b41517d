"""``asusual``: the operator's command line.

    asusual sources create --id web --name "Web shop" --channel web [--timezone Europe/Moscow] ...
    asusual sources list | rotate ID [--overlap-hours 24] | revoke ID
    asusual sources identity-secret ID [--secret-arn ARN]
    asusual keys create --scope read|admin --label "POS greeting" | list | revoke KEY_ID
    asusual replenishment backtest --purchases FILE.csv [--json]
    asusual recommendations backtest --purchases FILE.csv [--k 10] [--json]
    asusual webhook-key [--secret-arn ARN]
    asusual segments create --id ID --name NAME --rule JSON|@FILE [--segments-queue-url URL]
    asusual segments update ID [--name NAME] [--rule JSON|@FILE] | delete ID  [--segments-queue-url URL]
    asusual segments get ID | list | members ID [--limit 100] [--cursor C]
    asusual campaigns create --file campaign.json | preview --file campaign.json [--profile-id ID]
    asusual campaigns get ID | cancel ID | report

It talks to the DynamoDB table directly with your AWS credentials (``--table``, ``--region``,
``--endpoint-url`` or the ASUSUAL_* environment); a new key is printed once and never stored.
``segments``/``campaigns`` run the same use cases as the admin API's routes (docs/segments.md,
docs/campaigns.md); a segment's create, update and delete also send its back-fill or deletion page
to the segments queue (``--segments-queue-url`` or ASUSUAL_SEGMENTS_QUEUE_URL, the stack's
SegmentsQueueUrl), and refuse before writing anything without it.
``replenishment backtest`` only reads the CSV: it needs no AWS (docs/replenishment.md); nor does
``recommendations backtest`` (docs/recommendations.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets as secrets_module
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from asusual import clock, purchases
from asusual.access import service
from asusual.access.models import Channel, KeyScope
from asusual.campaigns import service as campaigns
from asusual.campaigns.models import CAMPAIGN_ID, CampaignRequest, PreviewRequest
from asusual.campaigns.preview import preview
from asusual.campaigns.report import uplift_report
from asusual.delivery.holdouts import held_out_kinds
from asusual.errors import AsusualError
from asusual.recommendations import backtest as recommendations_backtest
from asusual.segments import service as segments
from asusual.segments.models import SegmentChange, SegmentRequest
from asusual.settings import get_settings, reset_settings
from asusual.store import clients, secrets
from asusual.store.access import DynamoAccessRepository
from asusual.store.campaigns import DynamoCampaignRepository, preview_deps
from asusual.store.conversions import DynamoConversionRepository
from asusual.store.queues import SqsSegmentJobs
from asusual.store.segments import DynamoSegmentRepository
from asusual.triggers import backtest

Result = dict[str, Any] | list[dict[str, Any]]
M = TypeVar("M", bound=BaseModel)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asusual",
        description=(
            "Manage asusual sources, API keys, segments and campaigns; backtest replenishment and"
            " recommendations."
        ),
    )
    parser.add_argument("--table", help="DynamoDB table (default: ASUSUAL_TABLE_NAME)")
    parser.add_argument("--region", help="AWS region (default: ASUSUAL_REGION)")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint, e.g. DynamoDB Local")
    parser.add_argument("--json", action="store_true", help="print JSON")
    groups = parser.add_subparsers(dest="group", required=True)

    sources = groups.add_parser("sources", help="channel systems and their write keys").add_subparsers(
        dest="action", required=True
    )
    create = sources.add_parser("create", help="register a source and print its first write key")
    create.add_argument("--id", required=True, dest="source_id")
    create.add_argument("--name", required=True)
    create.add_argument("--channel", required=True, choices=[c.value for c in Channel])
    create.add_argument("--timezone", help="IANA zone for events without one, e.g. Europe/Moscow")
    create.add_argument("--country", help="ISO country for phone numbers, e.g. RU")
    create.add_argument("--store-id")
    create.add_argument("--rate-limit", type=float, help="requests per second per container")
    create.add_argument("--burst", type=int)
    create.add_argument("--public", action="store_true", help="a browser or app source (its key is public)")
    create.add_argument(
        "--origin",
        action="append",
        dest="allowed_origins",
        default=[],
        help="a public source's web origin (repeat), e.g. https://shop.example or https://*.shop.example",
    )
    sources.add_parser("list", help="list sources")
    rotate = sources.add_parser("rotate", help="issue a new write key; old keys expire after the overlap")
    rotate.add_argument("source_id")
    rotate.add_argument("--overlap-hours", type=float, help="default: ASUSUAL_ROTATION_OVERLAP_HOURS (24)")
    revoke = sources.add_parser("revoke", help="revoke a source and all its keys")
    revoke.add_argument("source_id")
    identity = sources.add_parser(
        "identity-secret", help="print the secret a public source's server signs user ids with"
    )
    identity.add_argument("source_id")
    identity.add_argument(
        "--secret-arn", help="the stack's LinkSecretArn (default: ASUSUAL_LINK_SECRETS[_ARN])"
    )

    keys = groups.add_parser("keys", help="read and admin keys").add_subparsers(dest="action", required=True)
    key_create = keys.add_parser("create", help="create a read or admin key and print it")
    key_create.add_argument("--scope", required=True, choices=[KeyScope.READ.value, KeyScope.ADMIN.value])
    key_create.add_argument("--label", required=True)
    keys.add_parser("list", help="list keys (ids only)")
    key_revoke = keys.add_parser("revoke", help="revoke a key by its id (from keys list)")
    key_revoke.add_argument("key_id")

    replay = _backtest_parser(
        groups,
        "replenishment",
        "replenishment timing",
        "replay a purchase history: our method and two baselines (no AWS needed)",
        "columns customer_id, product_id, quantity, timestamp [, product_type, product_category]",
    )
    recs = _backtest_parser(
        groups,
        "recommendations",
        "product recommendations",
        "judge each next basket: our blend and two baselines (no AWS needed)",
        "columns customer_id, product_id, quantity, timestamp [, basket_id]",
    )
    recs.add_argument("--k", type=_positive, default=10, help="products recommended per basket (default 10)")
    for replayer in (replay, recs):
        # SUPPRESS: without the flag here, a --json given before the group still counts
        replayer.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    webhook = groups.add_parser(
        "webhook-key", help="print the key store POS / call-center systems verify webhooks with"
    )
    webhook.add_argument(
        "--secret-arn", help="the stack's LinkSecretArn (default: ASUSUAL_LINK_SECRETS[_ARN])"
    )
    _segment_commands(groups)
    _campaign_commands(groups)
    return parser


def _backtest_parser(groups: Any, group: str, group_help: str, help_text: str, columns: str) -> Any:
    """``asusual <group> backtest --purchases FILE.csv``: a backtest over a purchase history."""
    actions = groups.add_parser(group, help=group_help).add_subparsers(dest="action", required=True)
    parser = actions.add_parser("backtest", help=help_text)
    parser.add_argument("--purchases", required=True, type=Path, metavar="FILE.csv", help=columns)
    return parser


def _segment_commands(groups: Any) -> None:
    commands = groups.add_parser(
        "segments", help="the marketer's segments (docs/segments.md)"
    ).add_subparsers(dest="action", required=True)
    rule_help = "a rule of the grammar as JSON, or @FILE to read it from a file"

    def queue_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--segments-queue-url",
            help="the stack's SegmentsQueueUrl (default: ASUSUAL_SEGMENTS_QUEUE_URL); the back-fill "
            "and deletion pages go there",
        )

    create = commands.add_parser("create", help="define a segment; its back-fill finds the members")
    create.add_argument("--id", required=True, dest="segment_id")
    create.add_argument("--name", required=True)
    create.add_argument("--rule", required=True, help=rule_help)
    queue_option(create)
    update = commands.add_parser("update", help="change a segment's rule (a new version) and/or name")
    update.add_argument("segment_id")
    update.add_argument("--name")
    update.add_argument("--rule", help=rule_help)
    queue_option(update)
    get = commands.add_parser("get", help="a segment: rule, version, size, back-fill progress")
    get.add_argument("segment_id")
    commands.add_parser("list", help="every segment with its size")
    members = commands.add_parser("members", help="a page of a segment's members (profile ids)")
    members.add_argument("segment_id")
    members.add_argument("--limit", type=int, default=100, help="1 to 1000 (default 100)")
    members.add_argument("--cursor", help="the previous page's cursor")
    delete = commands.add_parser("delete", help="delete a segment (its memberships go in pages)")
    delete.add_argument("segment_id")
    queue_option(delete)


def _campaign_commands(groups: Any) -> None:
    commands = groups.add_parser(
        "campaigns", help="campaigns to a segment, with holdouts (docs/campaigns.md)"
    ).add_subparsers(dest="action", required=True)
    file_help = "the campaign as JSON: the body of POST /v1/campaigns"
    create = commands.add_parser("create", help="schedule a campaign (its content is checked first)")
    create.add_argument("--file", required=True, type=Path, metavar="campaign.json", help=file_help)
    preview = commands.add_parser(
        "preview", help="size, a sample with why, one member's message; sends and keeps nothing"
    )
    preview.add_argument("--file", required=True, type=Path, metavar="campaign.json", help=file_help)
    preview.add_argument("--profile-id", help="whose message to show (default: the first sampled member)")
    get = commands.add_parser("get", help="a campaign's status, counts, conversions and uplift")
    get.add_argument("campaign_id")
    cancel = commands.add_parser("cancel", help="cancel a campaign: nobody more receives it")
    cancel.add_argument("campaign_id")
    commands.add_parser("report", help="the uplift report: every campaign and trigger kind with a holdout")


def run(args: argparse.Namespace, repo: service.AccessRepository) -> Result:
    now = clock.now()
    if args.group == "sources":
        if args.action == "create":
            issued = service.create_source(
                repo,
                source_id=args.source_id,
                name=args.name,
                channel=Channel(args.channel),
                now=now,
                timezone=args.timezone,
                country=args.country,
                store_id=args.store_id,
                rate_limit=args.rate_limit,
                burst=args.burst,
                public=args.public,
                allowed_origins=args.allowed_origins,
            )
            return _issued(issued)
        if args.action == "list":
            return [s.model_dump(mode="json") for s in repo.list_sources()]
        if args.action == "rotate":
            hours = (
                args.overlap_hours
                if args.overlap_hours is not None
                else get_settings().rotation_overlap_hours
            )
            issued = service.rotate_source_key(repo, args.source_id, now=now, overlap=timedelta(hours=hours))
            return {**_issued(issued), "old_keys_expire_at": (now + timedelta(hours=hours)).isoformat()}
        if args.action == "identity-secret":
            secret = service.source_identity_secret(repo, args.source_id, secrets.link_secrets())
            return {"source_id": args.source_id, "identity_secret": secret}
        source = service.revoke_source(repo, args.source_id)
        return {"source_id": source.source_id, "status": source.status.value}
    if args.action == "create":
        return _issued(service.create_key(repo, KeyScope(args.scope), now=now, label=args.label))
    if args.action == "list":
        return [
            {
                "key_id": k.key_id,
                "scope": k.scope.value,
                "source_id": k.source.source_id if k.source else None,
                "label": k.label,
                "status": k.status.value,
                "usable": k.usable_at(now),
                "created_at": k.created_at.isoformat(),
                "not_after": k.not_after.isoformat() if k.not_after else None,
            }
            for k in repo.list_keys()
        ]
    key = service.revoke_key(repo, args.key_id)
    return {"key_id": key.key_id, "status": key.status.value}


def _issued(issued: service.IssuedKey) -> dict[str, Any]:
    record = issued.record
    return {
        "key": issued.key,
        "key_id": record.key_id,
        "scope": record.scope.value,
        "source_id": record.source.source_id if record.source else None,
    }


def run_segments(args: argparse.Namespace) -> Result:
    """The admin API's segment routes (functions/admin_api/handler.py), with the same dependencies."""
    settings = get_settings()
    repo = DynamoSegmentRepository(clients.dynamodb(), settings.table_name)
    if args.action == "get":
        return _dump(segments.get(repo, args.segment_id))
    if args.action == "list":
        return [_dump(s) for s in segments.list_segments(repo).segments]
    if args.action == "members":
        return _dump(segments.members(repo, args.segment_id, args.limit, args.cursor))
    if not settings.segments_queue_url:  # refuse before writing: a definition nobody back-fills
        raise _Refused(
            f"segments {args.action}: needs the segments queue for its back-fill and deletion pages; "
            "pass --segments-queue-url (the stack's SegmentsQueueUrl) or set ASUSUAL_SEGMENTS_QUEUE_URL"
        )
    jobs = SqsSegmentJobs(clients.sqs(), settings.segments_queue_url)
    delay, now = settings.segment_job_delay_seconds, clock.now()
    if args.action == "create":
        request = _validated(
            SegmentRequest, {"segment_id": args.segment_id, "name": args.name, "rule": _rule(args.rule)}
        )
        incarnation = secrets_module.token_hex(6)
        return _dump(
            segments.create(repo, jobs, request, now=now, incarnation=incarnation, delay_seconds=delay)
        )
    if args.action == "update":
        body: dict[str, Any] = {"name": args.name} if args.name is not None else {}
        if args.rule is not None:
            body["rule"] = _rule(args.rule)
        change = _validated(SegmentChange, body)
        return _dump(segments.update(repo, jobs, args.segment_id, change, now=now, delay_seconds=delay))
    return _dump(segments.delete(repo, jobs, args.segment_id, now=now, delay_seconds=delay))


def run_campaigns(args: argparse.Namespace) -> Result:
    """The admin API's campaign and uplift report routes, with the same dependencies."""
    settings, db, now = get_settings(), clients.dynamodb(), clock.now()
    if args.action == "report":
        programs = DynamoConversionRepository(db, settings.table_name)
        return _dump(uplift_report(programs, settings.trigger_holdouts, held_out_kinds(), now))
    repo = DynamoCampaignRepository(db, settings.table_name)
    if args.action in ("get", "cancel"):
        if not re.fullmatch(CAMPAIGN_ID, args.campaign_id):  # as the route: never a store error
            raise campaigns.CampaignNotFound(f"campaign_id: no campaign {args.campaign_id[:64]!r}")
        if args.action == "get":
            return _dump(campaigns.view(repo, args.campaign_id))
        return _dump(campaigns.cancel(repo, args.campaign_id, now))
    deps = preview_deps(db, settings.table_name)
    body = _json_file(args.file)
    if args.action == "preview":
        if args.profile_id is not None and isinstance(body, dict):
            body = {**body, "profile_id": args.profile_id}
        return _dump(preview(deps, _validated(PreviewRequest, body), now))
    request = _validated(CampaignRequest, body)
    campaign = campaigns.create(
        repo, deps.segments, deps.pack, request, now, deps.default_messages_per_second
    )
    return _dump(campaigns.view(repo, campaign.campaign_id))


class _Refused(Exception):
    """A command that cannot run as given (exit 2 with its message)."""


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _validated(model: type[M], body: object) -> M:
    """``body`` as ``model``, or a refusal naming each invalid field as the API's 400 does."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        raise _Refused("; ".join(parts)) from exc


def _rule(raw: str) -> object:
    """``--rule``: JSON, or @FILE holding it."""
    if raw.startswith("@"):
        return _json_file(Path(raw[1:]), "--rule")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _Refused(f"--rule: not valid JSON ({exc}); pass the rule as JSON or @FILE") from exc


def _json_file(path: Path, option: str = "--file") -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"{option}: cannot read {str(path)!r} ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise _Refused(f"{option}: {str(path)!r} is not valid JSON ({exc})") from exc


def _print(result: Result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("  ".join(f"{k}={_text(v)}" for k, v in row.items() if v is not None))
    if isinstance(result, dict) and "key" in result:
        sys.stderr.write("store this key now: it is shown once and only its hash is kept\n")


def _report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The uplift report as text: one line per campaign and trigger kind, its verdict in words."""
    return [
        {
            "program": p["program"],
            "id": p["id"],
            "holdout_percent": p["holdout_percent"],
            "audience": p["audience"],
            "holdout": p["holdout"],
            "sent": p["sent"],
            "verdict": p["uplift"]["verdict"],
            "says": p["uplift"]["says"].get("en"),
        }
        for p in [*report["campaigns"], *report["triggers"]]
    ]


def _text(value: object) -> object:
    """A value of a text row: nested ones (a rule, counts) as compact JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _replenishment_backtest(args: argparse.Namespace) -> int:
    try:
        report = backtest.run_backtest(args.purchases)
    except (purchases.BacktestInputError, OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(backtest.format_report(report))
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--k {text!r} is not a positive whole number")
    return value


def _recommendations_backtest(args: argparse.Namespace) -> int:
    try:
        report = recommendations_backtest.run_backtest(args.purchases, args.k)
    except (purchases.BacktestInputError, OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    if args.json:
        print(report.model_dump_json())
    else:
        print(recommendations_backtest.format_report(report))
    return 0


def _webhook_key(args: argparse.Namespace) -> int:
    if args.region:
        os.environ["ASUSUAL_REGION"] = args.region
    if args.secret_arn:
        os.environ["ASUSUAL_LINK_SECRETS_ARN"] = args.secret_arn
    reset_settings()
    clients.reset_clients()
    secrets.reset_secrets()
    try:
        key = secrets.webhook_secret().decode()
    except RuntimeError as exc:
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    print(json.dumps({"webhook_key": key}) if args.json else key)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.group == "replenishment":  # reads a file only: no settings, no DynamoDB
        return _replenishment_backtest(args)
    if args.group == "recommendations":  # reads a file only, as above
        return _recommendations_backtest(args)
    if args.group == "webhook-key":
        return _webhook_key(args)
    for option, variable in (("table", "ASUSUAL_TABLE_NAME"), ("region", "ASUSUAL_REGION")):
        if getattr(args, option):
            os.environ[variable] = getattr(args, option)
    if args.endpoint_url:
        os.environ["ASUSUAL_DYNAMODB_ENDPOINT"] = args.endpoint_url
    if getattr(args, "secret_arn", None):
        os.environ["ASUSUAL_LINK_SECRETS_ARN"] = args.secret_arn
    if getattr(args, "segments_queue_url", None):
        os.environ["ASUSUAL_SEGMENTS_QUEUE_URL"] = args.segments_queue_url
    reset_settings()
    clients.reset_clients()
    secrets.reset_secrets()
    try:
        if args.group == "segments":
            result = run_segments(args)
        elif args.group == "campaigns":
            result = run_campaigns(args)
        else:
            result = run(args, DynamoAccessRepository(clients.dynamodb(), get_settings().table_name))
        if (
            args.group == "campaigns"
            and args.action == "report"
            and not args.json
            and isinstance(result, dict)
        ):
            result = _report_rows(result)
        _print(result, args.json)
    except AsusualError as exc:
        sys.stderr.write(f"asusual: {exc.message}\n")
        return 2
    except _Refused as exc:
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    except (ValueError, RuntimeError) as exc:  # invalid field values (pydantic names them); no secret
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
