"""Package the Lambdas without Docker.

* code asset: ``functions/`` and ``shared/asusual`` staged side by side, so the handler string
  ``functions.<name>.handler.lambda_handler`` and ``import asusual`` resolve at /var/task exactly
  as they do in the editable install used by tests. ``asusual.local`` (moto, the local gateway)
  is left out: no function imports it.
* layer: the runtime dependencies of pyproject.toml (boto3 excepted: the Lambda runtime has it),
  pinned by .ci/constraints.txt, installed as Lambda's platform wheels:
  ``pip install --platform manylinux2014_aarch64 --only-binary=:all: --python-version 3.14``.

    python -m infra.build code  OUT_DIR
    python -m infra.build layer OUT_DIR
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_PYTHON = "3.14"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath"}
EXCLUDED = ("asusual/local",)


def _ignore(directory: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n in ("__pycache__",) or n.endswith((".pyc", ".egg-info"))}
    rel = Path(directory).resolve()
    for name in names:
        path = (rel / name).as_posix()
        if any(path.endswith(e) for e in EXCLUDED):
            skipped.add(name)
    return skipped


def stage_code(out: Path) -> Path:
    """Stage the code asset into ``out`` (emptied first); returns it."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(ROOT / "functions", out / "functions", ignore=_ignore)
    shutil.copytree(ROOT / "shared" / "asusual", out / "asusual", ignore=_ignore)
    return out


def runtime_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = []
    for requirement in project["dependencies"]:
        name = requirement.split("[")[0].split("=")[0].strip().lower()
        if name not in PROVIDED_BY_RUNTIME:
            requirements.append(requirement)
    return requirements


def layer_fingerprint() -> str:
    """Changes when the layer's content would: requirements, pins, target platform."""
    digest = hashlib.sha256()
    for part in (*runtime_requirements(), LAMBDA_PYTHON, LAMBDA_PLATFORM):
        digest.update(part.encode())
    digest.update((ROOT / ".ci" / "constraints.txt").read_bytes())
    return digest.hexdigest()[:16]


def build_layer(out: Path) -> Path:
    """Install the runtime dependencies for the Lambda platform into ``out/python``; reuses a
    previous build with the same fingerprint. Processes building at once (test workers, each
    synthesizing) take turns: the first builds, the others then find its fingerprint."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with (out.parent / f".{out.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_layer(out)


def _build_layer(out: Path) -> Path:
    stamp = out / ".fingerprint"
    if stamp.exists() and stamp.read_text() == layer_fingerprint():
        return out
    if out.exists():
        shutil.rmtree(out)
    target = out / "python"
    target.mkdir(parents=True)
    constraints = [
        line
        for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines()
        if line.split("==")[0].lower() not in PROVIDED_BY_RUNTIME
    ]
    pinned = out / "constraints.txt"
    pinned.write_text("\n".join(constraints) + "\n")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--platform", LAMBDA_PLATFORM, "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
        "--only-binary=:all:", "--target", str(target), "-c", str(pinned), *runtime_requirements(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own pins
    if result.returncode != 0:
        raise RuntimeError(f"building the Lambda layer failed:\n{result.stdout}\n{result.stderr}")
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    # aws-xray-sdk pulls botocore in; the runtime's boto3 must keep its own matching botocore.
    for name in PROVIDED_BY_RUNTIME:
        for path in (*target.glob(name), *target.glob(f"{name}-*.dist-info")):
            shutil.rmtree(path)
    stamp.write_text(layer_fingerprint())
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("code", "layer"):
        sys.stderr.write(__doc__ or "")
        return 2
    out = Path(argv[1])
    (stage_code if argv[0] == "code" else build_layer)(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
