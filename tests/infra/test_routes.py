"""Each HTTP route is declared once, in its handler's resolver: the stack's API Gateway routes, the
local gateway and these checks derive from it, compared as exact sets."""

import importlib

import pytest

from asusual.api import routes
from asusual.local.functions import API_FUNCTIONS
from infra.routes import Route, UnreadableRoute, api_functions, gateway_path, handler_routes, read_routes


def resolver_routes():
    """(method, API Gateway path) → function name, from the handlers' resolver objects."""
    return {
        (method, gateway_path(rule)): function.name
        for function in API_FUNCTIONS
        for method, rule in function.routes()
    }


def test_api_gateway_routes_are_exactly_the_resolvers_routes_each_to_its_function(synthesized):
    _, template, _ = synthesized
    resources = template.to_json()["Resources"]
    deployed = {}
    for route in template.find_resources("AWS::ApiGatewayV2::Route").values():
        method, path = route["Properties"]["RouteKey"].split(" ", 1)
        integration = resources[route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]]
        [function] = integration["Properties"]["IntegrationUri"]["Fn::GetAtt"][:1]
        deployed[(method, path)] = function
    expected = resolver_routes()
    assert set(deployed) == set(expected)  # no route missing on either side
    for key, function in deployed.items():
        assert expected[key].replace("_", "") in function.lower(), key


def test_routes_read_from_the_handlers_source_are_the_resolvers_routes():
    assert set(api_functions()) == {function.name for function in API_FUNCTIONS}
    for name in api_functions():
        app = importlib.import_module(f"functions.{name}.handler").app
        assert sorted((r.method, r.rule) for r in handler_routes(name)) == routes(app), name


def test_intake_routes_are_the_batches_and_two_per_segment_call_type_each_with_its_preflight():
    paths = {
        "/v1/batch",
        "/v1/b",  # analytics-next, batching
        "/beacon/v1/batch",  # RudderStack JS, beacon mode
        *(f"/v1/{call}" for call in ("identify", "track", "page", "screen", "group", "alias")),
        *(f"/v1/{letter}" for letter in "itpsga"),  # analytics-next: the call type's first letter
    }
    assert {r.key for r in handler_routes("intake_api")} == {
        f"{method} {path}" for path in paths for method in ("POST", "OPTIONS")
    }


def test_routes_no_page_calls_have_no_preflight():
    for name in ("profiles_api", "admin_api", "messages_api"):
        assert all(r.method != "OPTIONS" for r in handler_routes(name)), name
    # decide_api: only the visitor's decision is a page's (POST /v1/decide takes the read key)
    assert {r.key for r in handler_routes("decide_api") if r.method == "OPTIONS"} == {
        "OPTIONS /v1/decide/visitor"
    }


def test_read_routes_cors_through_a_dict_of_computed_keys_is_refused(tmp_path):
    handler = tmp_path / "handler.py"
    handler.write_text(
        'KEY = "cors"\n_SHARED = {KEY: True}\n\n@app.post("/v1/x", **_SHARED)\ndef x():\n    pass\n'
    )
    with pytest.raises(UnreadableRoute, match="module-level dict literal"):
        read_routes(handler)


def test_read_routes_cors_from_a_shared_dict_adds_the_preflight(tmp_path):
    handler = tmp_path / "handler.py"
    handler.write_text('_SHARED = {"cors": True}\n\n@app.post("/v1/x", **_SHARED)\ndef x():\n    pass\n')
    assert [r.key for r in read_routes(handler)] == ["POST /v1/x", "OPTIONS /v1/x"]


def test_gateway_path_writes_powertools_parameters_in_braces():
    assert gateway_path("/v1/profiles/<identifier_type>/<value>/export") == (
        "/v1/profiles/{identifier_type}/{value}/export"
    )
    assert Route("GET", "/v1/keys/<key_id>").key == "GET /v1/keys/{key_id}"


@pytest.mark.parametrize(
    "source",
    [
        'PATH = "/v1/x"\n@app.get(PATH)\ndef f(): ...\n',  # not a literal
        'def register():\n    app.post("/v1/x")(lambda: None)\n',  # not where the reader looks
        '@app.route("/v1/x", method="GET")\ndef f(): ...\n',
        'from asusual.intake.models import EventType\nfor k in EventType:\n    app.post("/v1/" + k)(f)\n',
        'for k in ("a", "b"):\n    app.post(f"/v1/{k}")(f)\n',  # not an imported enum
    ],
)
def test_route_reader_refuses_a_route_declared_in_a_form_it_cannot_read(tmp_path, source):
    handler = tmp_path / "handler.py"
    handler.write_text(source, encoding="utf-8")
    with pytest.raises(UnreadableRoute):
        read_routes(handler)


def test_route_reader_expands_a_loop_over_an_imported_string_enum(tmp_path):
    handler = tmp_path / "handler.py"
    handler.write_text(
        "from asusual.intake.models import EventType\n"
        "for k in EventType:\n"
        '    app.post(f"/v1/{k.value}/x")(f)\n',
        encoding="utf-8",
    )
    assert sorted(r.key for r in read_routes(handler)) == [
        "POST /v1/alias/x",
        "POST /v1/group/x",
        "POST /v1/identify/x",
        "POST /v1/page/x",
        "POST /v1/screen/x",
        "POST /v1/track/x",
    ]


def test_local_gateway_sends_each_route_to_the_function_that_declares_it():
    for (method, path), name in resolver_routes().items():
        [function] = [f for f in API_FUNCTIONS if f.serves(method, path)]
        assert function.name == name, path
