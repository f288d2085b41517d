"""`cdk synth` through the CLI, offline: a module of its own, so xdist runs it beside the tests of
the synthesized stack (tests/infra/test_stack.py) instead of after them."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_cdk_cli_synth_works_offline_and_writes_cdk_out(tmp_path):
    cdk = ROOT / "infra" / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.fail("infra/node_modules missing: `make test` installs the CDK CLI (npm ci --prefix infra)")
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(tmp_path),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(cdk), "synth", "--quiet", "--no-notices", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "asusual-dev.template.json").exists()
