"""One construct per capability: each owns its functions and grants them everything they get,
routes its own API functions and schedules its own sweeps — so a capability synthesized alone,
on the foundation, gives its functions exactly what the whole stack gives them."""

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.capabilities.admin import Admin
from infra.capabilities.campaigns import Campaigns
from infra.capabilities.decisions import Decisions
from infra.capabilities.delivery import Delivery
from infra.capabilities.intake import Intake
from infra.capabilities.privacy import Privacy
from infra.capabilities.profiles import Profiles
from infra.capabilities.recommendations import Recommendations
from infra.capabilities.segments import Segments
from infra.capabilities.triggers import Triggers
from infra.config import StageConfig
from infra.foundation import build_foundation
from infra.foundation.secrets import listed_secret
from infra.routes import handler_routes

ROOT = Path(__file__).resolve().parents[2]
OWNED = {
    "Intake": {"intake_api"},
    "Profiles": {"event_processor", "profiles_api"},
    "Admin": {"admin_api"},
    "Triggers": {"birthday_sweep", "replenishment_sweep", "abandonment_sweep", "stock_worker"},
    "Delivery": {"dispatcher", "deferred_sweep", "messages_api"},
    "Decisions": {"decide_api"},
    "Segments": {"segments_sweep", "segments_worker"},
    "Campaigns": {"campaign_sweep"},
    "Recommendations": {"recommendations_job"},
    "Privacy": set(),
}


def owned_functions(construct):
    return {c.node.id for c in construct.node.find_all() if isinstance(c, lambda_.Function)}


def test_each_function_belongs_to_exactly_one_capability(synthesized):
    stack, _, _ = synthesized
    assert {name: owned_functions(stack.node.find_child(name)) for name in OWNED} == OWNED
    handlers = {p.parent.name for p in (ROOT / "functions").glob("*/handler.py")}
    assert set().union(*OWNED.values()) == handlers


def actions_by_function(template):
    """function logical id → the IAM actions its role's policies allow."""
    roles = {
        f["Properties"]["Role"]["Fn::GetAtt"][0]: name
        for name, f in template.find_resources("AWS::Lambda::Function").items()
    }
    actions = {}
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            function = roles[role["Ref"]]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions.setdefault(function, set()).update(
                    s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                )
    return actions


CONFIG = StageConfig(
    stage="test",
    sender_email="shop@example.com",
    sms_origination="+15550001111",
    push_platform_applications={"fcm": "arn:aws:sns:eu-central-1:111122223333:app/GCM/shop"},
    webhooks={"store": "https://pos.example.com/asusual"},
)


def link_secret(stack):
    """The link secret Delivery keeps, as another capability receives it (a stand-in of its own)."""
    return listed_secret(stack, "LinkSecret", description="links", retain=False, rotation="prepended " * 5)


BUILD = {
    "Intake": lambda stack, base: Intake(stack, "Intake", base=base, link_secret=link_secret(stack)),
    "Profiles": lambda stack, base: Profiles(
        stack, "Profiles", base=base, privacy=Privacy(stack, "Privacy", retain=False), config=CONFIG
    ),
    "Admin": lambda stack, base: Admin(
        stack, "Admin", base=base, link_secret=link_secret(stack), config=CONFIG
    ),
    "Triggers": lambda stack, base: Triggers(stack, "Triggers", base=base),
    "Delivery": lambda stack, base: Delivery(stack, "Delivery", base=base, config=CONFIG),
    "Decisions": lambda stack, base: Decisions(stack, "Decisions", base=base),
    "Segments": lambda stack, base: Segments(stack, "Segments", base=base),
    "Campaigns": lambda stack, base: Campaigns(stack, "Campaigns", base=base),
    "Recommendations": lambda stack, base: Recommendations(
        stack, "Recommendations", base=base, config=CONFIG
    ),
}


def bare_foundation(tmp_path):
    """A stack of its own with the foundation on placeholder code and layer assets."""
    for part in ("code", "layer"):
        (tmp_path / part).mkdir(exist_ok=True)
        (tmp_path / part / "placeholder.txt").write_text("x")
    stack = Stack(App(), "alone", env={"account": "111122223333", "region": "eu-central-1"})
    return stack, build_foundation(stack, CONFIG, code_dir=tmp_path / "code", layer_dir=tmp_path / "layer")


def alone(capability, tmp_path):
    """``capability`` synthesized on the foundation in a stack of its own."""
    stack, base = bare_foundation(tmp_path)
    BUILD[capability](stack, base)
    return Template.from_stack(stack)


@pytest.mark.parametrize("capability", sorted(BUILD))
def test_capability_alone_grants_its_functions_exactly_what_the_stack_grants(
    synthesized, tmp_path, capability
):
    _, whole, _ = synthesized
    template = alone(capability, tmp_path)
    own = actions_by_function(template)
    assert own, "a capability with functions grants them something"
    everything = actions_by_function(whole)
    for name, actions in own.items():
        assert everything[name] == actions, name  # the same logical id, nothing granted from outside
    assert set(own) == {n for n in everything if n.startswith(capability)}


@pytest.mark.parametrize("capability", sorted(BUILD))
def test_capability_alone_routes_exactly_its_api_functions_routes(tmp_path, capability):
    template = alone(capability, tmp_path)
    routes = {
        r["Properties"]["RouteKey"] for r in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }
    assert routes == {route.key for name in OWNED[capability] for route in handler_routes(name)}


@pytest.mark.parametrize(
    ("capability", "schedules"),
    [
        (
            "Triggers",
            {
                "birthdaysweep": "rate(1 hour)",
                "replenishmentsweep": "rate(1 hour)",
                "abandonmentsweep": "rate(15 minutes)",
            },
        ),
        ("Delivery", {"deferredsweep": "rate(15 minutes)"}),
        ("Intake", {}),
        ("Profiles", {}),
        ("Admin", {}),
        ("Decisions", {}),
        ("Segments", {"segmentssweep": "rate(1 hour)"}),
        ("Recommendations", {"recommendationsjob": "rate(1 hour)"}),
    ],
)
def test_capability_alone_schedules_exactly_its_sweeps(tmp_path, capability, schedules):
    rules = alone(capability, tmp_path).find_resources("AWS::Events::Rule").values()
    found = {}
    for rule in rules:
        [target] = rule["Properties"]["Targets"]
        [function] = [n for n in schedules if n in json.dumps(target["Arn"]).lower()]
        found[function] = rule["Properties"]["ScheduleExpression"]
    assert found == schedules


def test_synthesis_fails_while_a_handler_with_routes_is_served_by_no_capability(tmp_path):
    stack, base = bare_foundation(tmp_path)
    Intake(stack, "Intake", base=base, link_secret=link_secret(stack))
    base.api.require_every_handler_served()
    with pytest.raises(
        Exception, match="profiles_api: its handler declares routes that no capability serves"
    ):
        Template.from_stack(stack)
