import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    """The whole app, synthesized once with cdk-nag attached (as `cdk synth` does)."""
    from aws_cdk.assertions import Template

    from infra.app import create_app
    from infra.config import StageConfig

    outdir = tmp_path_factory.mktemp("cdk.out")
    config = StageConfig(
        stage="test",
        sender_email="shop@example.com",
        alarm_email="ops@example.com",
        sms_origination="+15550001111",
        push_platform_applications={"fcm": "arn:aws:sns:eu-central-1:111122223333:app/GCM/shop"},
        webhooks={"store": "https://pos.example.com/asusual"},
        retailer_name="Лавка «Ромашка»",
        brand_color="#0b6e4f",
        trigger_holdouts={"welcome": 10},
        weather="open-meteo",
    )
    # each worker stages its own code: a shared build/code would be emptied under another's synth
    app = create_app(config, outdir=str(outdir), code_dir=tmp_path_factory.mktemp("code") / "code")
    stack = app.node.find_child("asusual-test")
    assembly = app.synth()
    return stack, Template.from_stack(stack), assembly
