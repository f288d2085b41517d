"""Local mode runs the functions the stack deploys, fed the same way: the same queue for each
consumer, the same rate for each schedule, API Gateway for the rest. Declared twice (CDK needs
constructs, local mode a list), so this keeps the two equal."""

import re
from datetime import timedelta

from asusual.local.functions import FUNCTIONS

UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
}


def deployed(template):
    """function name → (queue it consumes or None, rate or None), from the synthesized template."""
    resources = template.to_json()["Resources"]
    names = {
        logical_id: re.fullmatch(r"functions\.(\w+)\.handler\.lambda_handler", r["Properties"]["Handler"])[1]
        for logical_id, r in template.find_resources("AWS::Lambda::Function").items()
        if r["Properties"].get("Handler", "").startswith("functions.")
    }
    consumes, every = {}, {}
    for mapping in template.find_resources("AWS::Lambda::EventSourceMapping").values():
        function = names[mapping["Properties"]["FunctionName"]["Ref"]]
        queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        assert resources[queue_id]["Type"] == "AWS::SQS::Queue"
        consumes[function] = (queue_id, mapping["Properties"]["BatchSize"])
    for rule in template.find_resources("AWS::Events::Rule").values():
        [target] = rule["Properties"]["Targets"]
        function = names[target["Arn"]["Fn::GetAtt"][0]]
        amount, unit = re.fullmatch(r"rate\((\d+) (\w+)\)", rule["Properties"]["ScheduleExpression"]).groups()
        every[function] = timedelta(**{UNITS[unit]: int(amount)})
    return {name: (consumes.get(name, (None, None)), every.get(name)) for name in names.values()}


def test_local_functions_are_the_stacks_functions_fed_by_the_same_queue_batch_or_schedule(synthesized):
    _, template, _ = synthesized
    stack = deployed(template)
    assert {f.name for f in FUNCTIONS} == set(stack)
    for function in FUNCTIONS:
        (queue_id, batch_size), rate = stack[function.name]
        assert rate == function.every, function.name
        if function.consumes is None:
            assert queue_id is None, function.name
        else:
            assert queue_id is not None and f"{function.consumes.title()}Queue" in queue_id, function.name
            assert batch_size == function.batch_size, function.name
