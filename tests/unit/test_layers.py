"""The layering written down in docs/architecture.md, enforced: the contracts live in pyproject.toml
([tool.importlinter]); this runs `lint-imports` on them, so `make test` fails on a cycle between
packages, a rule importing an adapter, boto3 outside the adapters, or infra importing the rules.
A subprocess: import-linter configures logging, which must not leak into the other tests."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_on_the_code_base_are_all_kept():
    command = [
        str(Path(sys.executable).parent / "lint-imports"),
        "--no-cache",
        "--no-logo",
        "--config",
        "pyproject.toml",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 3 kept, 0 broken." in run.stdout
