"""The CDK app (cdk.json runs ``python -m infra.app``).

Synthesis first packages the Lambdas without Docker (infra/build.py), then checks the stack with
cdk-nag's AwsSolutions rules: an unsuppressed finding fails the synth. Context (``-c``): stage,
region, account, sender_email, sms_origination, alarm_email, api_rate_limit, api_burst_limit.
"""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App, Aspects, Environment
from cdk_nag import AwsSolutionsChecks

from infra.build import ROOT, build_layer, stage_code
from infra.config import StageConfig
from infra.stack import AsusualStack

BUILD = ROOT / "build"


def create_app(
    config: StageConfig | None = None,
    *,
    build_dir: Path = BUILD,
    outdir: str | None = None,
    code_dir: Path | None = None,
) -> App:
    """The app; the code is staged in ``code_dir`` (default ``build/code``: a process synthesizing
    beside others, as test workers do, passes its own), the layer built once in ``build/layer``."""
    app = App(outdir=outdir) if outdir else App()
    config = config or StageConfig.from_app(app)
    code_dir = stage_code(code_dir or build_dir / "code")
    layer_dir = build_layer(build_dir / "layer")
    account = config.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = config.region or os.environ.get("CDK_DEFAULT_REGION")
    AsusualStack(
        app,
        f"asusual-{config.stage}",
        config=config,
        code_dir=code_dir,
        layer_dir=layer_dir,
        env=Environment(account=account, region=region) if account or region else None,
        description=f"asusual {config.stage}: cross-channel personalization for retailers",
    )
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app


if __name__ == "__main__":
    create_app().synth()
