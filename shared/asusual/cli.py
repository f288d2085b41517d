"""``asusual``: the operator's command line.

    asusual sources create --id web --name "Web shop" --channel web [--timezone Europe/Moscow] ...
    asusual sources list | rotate ID [--overlap-hours 24] | revoke ID
    asusual sources identity-secret ID [--secret-arn ARN]
    asusual keys create --scope read|admin --label "POS greeting" | list | revoke KEY_ID
    asusual replenishment backtest --purchases FILE.csv [--json]
    asusual webhook-key [--secret-arn ARN]

It talks to the DynamoDB table directly with your AWS credentials (``--table``, ``--region``,
``--endpoint-url`` or the ASUSUAL_* environment); a new key is printed once and never stored.
``replenishment backtest`` only reads the CSV: it needs no AWS (docs/replenishment.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from asusual import clock
from asusual.access import service
from asusual.access.models import Channel, KeyScope
from asusual.errors import AsusualError
from asusual.settings import get_settings, reset_settings
from asusual.store import clients, secrets
from asusual.store.access import DynamoAccessRepository
from asusual.triggers import backtest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asusual", description="Manage asusual sources and API keys; backtest replenishment timing."
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

    replenishment = groups.add_parser("replenishment", help="replenishment timing").add_subparsers(
        dest="action", required=True
    )
    replay = replenishment.add_parser(
        "backtest", help="replay a purchase history: our method and two baselines (no AWS needed)"
    )
    replay.add_argument(
        "--purchases",
        required=True,
        type=Path,
        metavar="FILE.csv",
        help="columns customer_id, product_id, quantity, timestamp [, product_type, product_category]",
    )
    # SUPPRESS: without the flag here, a --json given before the group still counts
    replay.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    webhook = groups.add_parser(
        "webhook-key", help="print the key store POS / call-center systems verify webhooks with"
    )
    webhook.add_argument(
        "--secret-arn", help="the stack's LinkSecretArn (default: ASUSUAL_LINK_SECRETS[_ARN])"
    )
    return parser


def run(args: argparse.Namespace, repo: service.AccessRepository) -> dict[str, Any] | list[dict[str, Any]]:
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


def _print(result: dict[str, Any] | list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))
    if isinstance(result, dict) and "key" in result:
        sys.stderr.write("store this key now: it is shown once and only its hash is kept\n")


def _replenishment_backtest(args: argparse.Namespace) -> int:
    try:
        report = backtest.run_backtest(args.purchases)
    except (backtest.BacktestInputError, OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(backtest.format_report(report))
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
    if args.group == "webhook-key":
        return _webhook_key(args)
    for option, variable in (("table", "ASUSUAL_TABLE_NAME"), ("region", "ASUSUAL_REGION")):
        if getattr(args, option):
            os.environ[variable] = getattr(args, option)
    if args.endpoint_url:
        os.environ["ASUSUAL_DYNAMODB_ENDPOINT"] = args.endpoint_url
    if getattr(args, "secret_arn", None):
        os.environ["ASUSUAL_LINK_SECRETS_ARN"] = args.secret_arn
    reset_settings()
    clients.reset_clients()
    secrets.reset_secrets()
    repo = DynamoAccessRepository(clients.dynamodb(), get_settings().table_name)
    try:
        _print(run(args, repo), args.json)
    except AsusualError as exc:
        sys.stderr.write(f"asusual: {exc.message}\n")
        return 2
    except (ValueError, RuntimeError) as exc:  # invalid field values (pydantic names them); no secret
        sys.stderr.write(f"asusual: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
