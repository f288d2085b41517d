"""``make serve``: the local API on http://127.0.0.1:8787 over in-memory AWS (moto).

python -m asusual.local.serve [--port 8787] [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from asusual.local.gateway import LocalGateway
from asusual.local.runtime import ADMIN_KEY, LOCAL_SOURCES, READ_KEY, LocalRuntime
from asusual.observability import logger


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8787")))
    return parser.parse_args(argv)


def banner(url: str) -> str:
    lines = [
        f"asusual local API on {url}  (in-memory AWS; Ctrl-C stops)",
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
    runtime = LocalRuntime().start()
    try:
        gateway = LocalGateway(runtime, host=args.host, port=args.port)
    except OSError as exc:
        sys.stderr.write(f"cannot listen on {args.host}:{args.port}: {exc} (set PORT=...)\n")
        runtime.stop()
        return 1
    sys.stderr.write(banner(gateway.url) + "\n")
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
