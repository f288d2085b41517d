"""``make serve``: the local API on http://127.0.0.1:8787 over in-memory AWS (moto), or with the
table in DynamoDB Local or real DynamoDB (the queues, secrets, email and SMS stay in memory).

python -m asusual.local.serve [--port 8787] [--host 127.0.0.1] [--dynamodb-endpoint URL] [--table NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from asusual.local.gateway import LocalGateway
from asusual.local.runtime import (
    ADMIN_KEY,
    LOCAL_SOURCES,
    READ_KEY,
    TABLE,
    LocalRuntime,
    LocalSetupError,
    is_aws_endpoint,
)
from asusual.observability import logger

ENDPOINT_HELP = """DynamoDB to keep the table in instead of memory, e.g. http://127.0.0.1:8000 for
DynamoDB Local (`make dynamodb-local`) or https://dynamodb.eu-central-1.amazonaws.com for real
DynamoDB (default: $ASUSUAL_DYNAMODB_ENDPOINT, else in memory). The table is created if absent
and reused if present, so its data outlives the server. Real DynamoDB uses the AWS credentials of
your environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws) and the region in the endpoint's host
name (else AWS_DEFAULT_REGION). The well-known local keys are written to the table: never point
it at a deployed stage's table."""

EXAMPLES = """examples:
  make serve                                                  everything in memory
  make dynamodb-local                                         (another terminal) DynamoDB Local on :8000
  make serve DYNAMODB_ENDPOINT=http://127.0.0.1:8000          the table in DynamoDB Local
  make serve DYNAMODB_ENDPOINT=http://127.0.0.1:8000 TABLE=t  another table there
  AWS_PROFILE=dev make serve DYNAMODB_ENDPOINT=https://dynamodb.eu-central-1.amazonaws.com TABLE=my-local
  make serve ARGS="--dynamodb-endpoint http://127.0.0.1:8000 --table t"   the same, as raw arguments"""


def _endpoint(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r} (e.g. http://127.0.0.1:8000)")
    return value.rstrip("/")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make serve",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8787")), help="default $PORT, else 8787"
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        type=_endpoint,
        default=os.environ.get("ASUSUAL_DYNAMODB_ENDPOINT") or None,
        metavar="URL",
        help=ENDPOINT_HELP,
    )
    parser.add_argument(
        "--table",
        default=TABLE,
        metavar="NAME",
        help=f"the table's name (default {TABLE})",
    )
    return parser.parse_args(argv)  # argparse checks a string default (the environment's) too


def where(runtime: LocalRuntime) -> str:
    if runtime.dynamodb_endpoint is None:
        return "in-memory AWS"
    kind = "REAL DynamoDB" if is_aws_endpoint(runtime.dynamodb_endpoint) else "DynamoDB"
    state = "created" if runtime.table_created else "reused"
    return (
        f"table {runtime.table_name} ({state}) in {kind} at {runtime.dynamodb_endpoint}, "
        f"region {runtime.region}; the rest in memory"
    )


def banner(url: str, runtime: LocalRuntime | None = None) -> str:
    lines = [
        f"asusual local API on {url}  ({where(runtime) if runtime else 'in-memory AWS'}; Ctrl-C stops)",
        f"  OpenAPI:      {url}/openapi.json",
        "  write keys:   " + ", ".join(f"{s.key} ({s.channel})" for s in LOCAL_SOURCES),
        f"  read key:     {READ_KEY}",
        f"  admin key:    {ADMIN_KEY}  (POST /_local/clock, POST /_local/run, GET /_local/outbox)",
        "  try:",
        f"    curl -u web_local_key: {url}/v1/track -H 'Content-Type: application/json' \\",
        '      -d \'{"userId": "u1", "event": "Product Viewed", "properties": {"product_id": "sku-1"}}\'',
        f"    curl -X POST -H 'Authorization: Bearer {ADMIN_KEY}' {url}/_local/run   # process the queues",
        f"    curl -H 'Authorization: Bearer {READ_KEY}' {url}/v1/profiles/user_id/u1",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    runtime = LocalRuntime(dynamodb_endpoint=args.dynamodb_endpoint, table_name=args.table)
    try:
        runtime.start()
    except LocalSetupError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    try:
        gateway = LocalGateway(runtime, host=args.host, port=args.port)
    except OSError as exc:
        sys.stderr.write(f"cannot listen on {args.host}:{args.port}: {exc} (set PORT=...)\n")
        runtime.stop()
        return 1
    sys.stderr.write(banner(gateway.url, runtime) + "\n")
    sys.stderr.flush()
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        gateway.server.server_close()
        runtime.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
