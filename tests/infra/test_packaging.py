"""The Lambda code asset works on its own: staged files import without the repository."""

import os
import subprocess
import sys

from infra.build import runtime_requirements, stage_code


def test_staged_code_imports_handler_from_the_asset_not_the_repo(tmp_path):
    out = stage_code(tmp_path / "code")
    assert (out / "functions" / "intake_api" / "handler.py").exists()
    assert (out / "asusual" / "intake" / "parsing.py").exists()
    assert not (out / "asusual" / "local").exists()  # moto and the local gateway stay out
    assert not list(out.rglob("__pycache__"))
    probe = (
        "import sys, asusual, functions.intake_api.handler as h;"
        "assert 'asusual.local' not in sys.modules, 'local imported';"
        "assert 'moto' not in sys.modules, 'moto imported';"
        "print(asusual.__file__); print(h.__file__); print(callable(h.lambda_handler))"
    )
    env = {**os.environ, "PYTHONPATH": str(out), "POWERTOOLS_TRACE_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=out, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    asusual_file, handler_file, is_callable = result.stdout.split()
    assert asusual_file.startswith(str(out)) and handler_file.startswith(str(out)) and is_callable == "True"


def test_layer_requirements_are_pinned_and_leave_out_what_lambda_provides():
    requirements = runtime_requirements()
    assert all("==" in r for r in requirements)
    assert not any(r.startswith("boto3") for r in requirements)
    assert any(r.startswith("aws-lambda-powertools") for r in requirements)
