"""(b) Cold import of every Lambda handler module in a fresh interpreter, as a ratio to
``import boto3`` alone, both measured in this run (interleaved, median of several runs).

What each child interpreter sees is what the function sees in Lambda, as far as a local venv can:

* the environment the stack sets at import (POWERTOOLS_*, ASUSUAL_*, the queue URLs) and the one
  Lambda sets (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, AWS_REGION...): with LAMBDA_TASK_ROOT
  set, the Tracer is on and patches botocore at import, as it does when tracing is active;
* only the packages the function has: the dev-only packages of .venv (moto, requests, pytest...)
  cannot be imported (the X-Ray SDK would otherwise patch ``requests``, which Lambda lacks);
* bytecode caches present for both the baseline and the handlers: every statement runs once to
  write them (into a fresh PYTHONPYCACHEPREFIX, so PYTHONDONTWRITEBYTECODE in the calling
  environment changes nothing) before the timed runs. The deployed asset carries no .pyc
  (infra/build.py strips them), so in Lambda both sides also compile their own sources.

The figure is the CPU time of the import statement alone (``process_time`` around it; the wall
time is in its detail), not interpreter start-up, which is the same for both: with the files in
the page cache an import is CPU-bound, and on a shared machine the wall time also counts other
processes' work. Each figure's detail names the packages that cost most beyond what ``import
boto3`` loads (``-X importtime`` self time)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement

from tests.benchmarks.harness import Figure, record

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
RUNS = 7
LIMIT = 1.5
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}

# the environment infra/stack.py gives every function, plus what its own function gets
STACK_ENV = {
    "ASUSUAL_STAGE": "bench",
    "ASUSUAL_REGION": "eu-central-1",
    "ASUSUAL_TABLE_NAME": "asusual-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "asusual",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
QUEUE = "https://sqs.eu-central-1.amazonaws.com/123456789012/asusual-bench-{}"
LINKS = {
    "ASUSUAL_PUBLIC_BASE_URL": "https://api.example.com",
    "ASUSUAL_LINK_SECRETS_ARN": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:links",
}
SUPPRESSION = {
    "ASUSUAL_SUPPRESSION_SECRETS_ARN": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:suppression"
}
FUNCTION_ENV: dict[str, dict[str, str]] = {
    "intake_api": {"ASUSUAL_EVENTS_QUEUE_URL": QUEUE.format("events")},
    "event_processor": {"ASUSUAL_INTENTS_QUEUE_URL": QUEUE.format("intents"), **SUPPRESSION},
    "profiles_api": SUPPRESSION,
    "birthday_sweep": {"ASUSUAL_INTENTS_QUEUE_URL": QUEUE.format("intents")},
    "replenishment_sweep": {"ASUSUAL_INTENTS_QUEUE_URL": QUEUE.format("intents")},
    "deferred_sweep": {"ASUSUAL_INTENTS_QUEUE_URL": QUEUE.format("intents")},
    "dispatcher": {**LINKS, "ASUSUAL_DELIVERY_MODE": "aws"},
    "messages_api": {**LINKS, "ASUSUAL_EVENTS_QUEUE_URL": QUEUE.format("events")},
}

# The child: hide what Lambda does not have, then time one import statement.
CHILD = """\
import sys, time
BLOCKED = frozenset({blocked!r})
class NotInLambda:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NotInLambda)
wall, cpu = time.perf_counter(), time.process_time()
{statement}
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_distributions() -> set[str]:
    """The distributions a deployed function has: the runtime requirements of asusual, closed
    over their own requirements (with the extras asked for), plus what the Lambda runtime has."""
    found: set[str] = set()
    pending = [Requirement(r) for r in importlib.metadata.requires("asusual") or []]
    pending = [r for r in pending if r.marker is None or r.marker.evaluate({"extra": ""})]
    pending += [Requirement(name) for name in PROVIDED_BY_RUNTIME]
    while pending:
        requirement = pending.pop()
        name = _canonical(requirement.name)
        extras = sorted(requirement.extras)
        if f"{name}{extras}" in found:
            continue
        found.add(f"{name}{extras}")
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for sub in map(Requirement, requires):
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ["", *extras]):
                pending.append(sub)
    return {key.split("[")[0] for key in found}


def blocked_imports() -> set[str]:
    """Top-level import names installed in .venv only for development (moto, requests, pytest...)."""
    runtime = _runtime_distributions()
    blocked = set()
    for top, distributions in importlib.metadata.packages_distributions().items():
        if top in ("asusual", "functions") or top.startswith("_"):
            continue
        if not any(_canonical(d) in runtime for d in distributions):
            blocked.add(top)
    return blocked


def lambda_env(function: str, pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASUSUAL_", "POWERTOOLS_", "AWS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(STACK_ENV)
    env.update(FUNCTION_ENV.get(function, {}))
    env.update(
        PYTHONPYCACHEPREFIX=pycache,
        POWERTOOLS_SERVICE_NAME=function,
        LAMBDA_TASK_ROOT=str(ROOT),
        AWS_LAMBDA_FUNCTION_NAME=f"asusual-bench-{function}",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        AWS_EXECUTION_ENV="AWS_Lambda_python3.14",
        AWS_REGION="eu-central-1",
        AWS_DEFAULT_REGION="eu-central-1",
    )
    return env


def _child(
    statement: str, env: dict[str, str], blocked: set[str], *flags: str
) -> subprocess.CompletedProcess[str]:
    code = CHILD.format(blocked=sorted(blocked), statement=statement)
    done = subprocess.run([sys.executable, *flags, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, f"{statement}:\n{done.stderr}"
    return done


def timed_import(statement: str, env: dict[str, str], blocked: set[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``statement`` in a fresh interpreter."""
    wall, cpu = _child(statement, env, blocked).stdout.split()[-2:]
    return float(wall), float(cpu)


def self_times(statement: str, env: dict[str, str], blocked: set[str], runs: int = 3) -> dict[str, float]:
    """``-X importtime``: self time (ms) of every module ``statement`` imports, the least of a few
    runs (one run's figures are wall times, which a busy machine inflates here and there)."""
    out: dict[str, float] = {}
    for _ in range(runs):
        for line in _child(statement, env, blocked, "-X", "importtime").stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, name = line.removeprefix("import time:").split("|")
                out[name.strip()] = min(int(own) / 1000, out.get(name.strip(), float("inf")))
    return out


def heaviest(modules: dict[str, float], besides: set[str], top: int = 6) -> dict[str, float]:
    """Self time by top-level package of the modules not in ``besides``, heaviest first."""
    by_package: dict[str, float] = {}
    for name, ms in modules.items():
        if name not in besides:
            package = name.split(".")[0] if not name.startswith("asusual.") else ".".join(name.split(".")[:2])
            by_package[package] = by_package.get(package, 0.0) + ms
    ranked = sorted(by_package.items(), key=lambda item: -item[1])[:top]
    return {name: round(ms, 1) for name, ms in ranked}


def test_handler_import_time() -> None:
    blocked = blocked_imports()
    assert {"moto", "pytest"} <= blocked and not {"boto3", "pydantic", "aws_lambda_powertools"} & blocked
    statements = {"boto3": "import boto3", **{h: f"import functions.{h}.handler" for h in HANDLERS}}
    with tempfile.TemporaryDirectory(prefix="asusual-pyc-") as pycache:
        envs = {key: lambda_env(key if key != "boto3" else "baseline", pycache) for key in statements}
        for key, statement in statements.items():  # writes the bytecode caches
            timed_import(statement, envs[key], blocked)
        runs: dict[str, list[tuple[float, float]]] = {key: [] for key in statements}
        for _ in range(RUNS):  # interleaved: a slow moment of the machine hits every statement
            for key, statement in statements.items():
                runs[key].append(timed_import(statement, envs[key], blocked))
        modules = {key: self_times(statement, envs[key], blocked) for key, statement in statements.items()}
    wall = {key: statistics.median(w for w, _ in values) * 1000 for key, values in runs.items()}
    cpu = {key: statistics.median(c for _, c in values) * 1000 for key, values in runs.items()}
    record(
        Figure(
            "b",
            "import boto3 alone (median CPU time)",
            cpu["boto3"],
            "ms",
            id="import_boto3_cpu_ms",
            note=f"fresh interpreter, .pyc present, {RUNS} runs interleaved; wall time in detail",
            detail={"cpu_ms": round(cpu["boto3"], 1), "wall_ms": round(wall["boto3"], 1)},
        )
    )
    figures = []
    for handler in HANDLERS:
        detail: dict[str, object] = {
            "cpu_ms": round(cpu[handler], 1),
            "wall_ms": round(wall[handler], 1),
            "wall_ratio": round(wall[handler] / wall["boto3"], 3),
            "heaviest_beyond_boto3_ms": heaviest(modules[handler], set(modules["boto3"])),
        }
        ratio = cpu[handler] / cpu["boto3"]
        name = f"cold import {handler} / import boto3"
        figures.append(
            record(
                Figure(
                    "b",
                    name,
                    ratio,
                    "ratio (CPU time)",
                    id=f"cold_import_{handler}_vs_boto3",
                    limit=LIMIT,
                    detail=detail,
                    documented_miss="docs/performance.md#cold-imports",
                )
            )
        )
    # as harness.check, naming what costs most beyond what boto3 loads (ms)
    missed = [
        f"{f.name}: {f.value:.2f}, target {f.target}; heaviest: {f.detail['heaviest_beyond_boto3_ms']}"
        for f in figures
        if f.ok is False and not f.documented_miss
    ]
    assert not missed, "targets missed:\n" + "\n".join(missed)
