"""``asusual segments …`` and ``asusual campaigns …`` over the local runtime: the same use cases as the
admin API's routes, back-filled by the same worker; refusals exit 2 naming the field."""

from __future__ import annotations

import json

import pytest

from asusual import cli

PET_RULE = {"purchased": {"category": "pet food", "within_days": 90}}
CONTENT = {
    "ru": {"subject": "{{ hello }}", "body": "Скидка на корм до воскресенья.", "text": "Скидка на корм."}
}


def run(capsys, *argv):
    capsys.readouterr()  # drop what earlier calls (handlers' metrics) printed
    code = cli.main(["--json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def purchase(user: str, category: str) -> dict:
    order = f"o-{user}"
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "timestamp": "2026-11-20T09:00:00Z",
        "messageId": f"m-{order}",
        "properties": {
            "order_id": order,
            "currency": "RUB",
            "total": 1290,
            "products": [{"product_id": f"p-{category}", "category": category, "quantity": 1, "price": 1290}],
        },
    }


@pytest.fixture
def customers(send, profile):
    """Anna bought pet food, Vera only tea: their profile ids."""
    traits = {"timezone": "Europe/Moscow"}
    identify = [
        {"type": "identify", "userId": u, "traits": {**traits, "email": f"{u}@example.com"},
         "timestamp": "2026-11-01T09:00:00Z"}
        for u in ("anna", "vera")
    ]  # fmt: skip
    send("web_local_key", *identify)
    send("web_local_key", purchase("anna", "pet food"), purchase("vera", "tea"))
    return {user: profile("user_id", user)["profile_id"] for user in ("anna", "vera")}


def test_segments_create_then_backfill_members_lists_the_buyer(runtime, capsys, customers, tmp_path):
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps(PET_RULE))
    code, created, err = run(
        capsys, "segments", "create", "--id", "pet-food", "--name", "Pet food", "--rule", f"@{rule_file}"
    )
    assert (code, err) == (0, "")
    assert (created["segment_id"], created["rule"], created["version"], created["size"]) == (
        "pet-food", PET_RULE, 1, 0
    )  # fmt: skip
    runtime.run()  # the back-fill's pages, sent to the segments queue
    code, members, _ = run(capsys, "segments", "members", "pet-food")
    assert (code, members) == (0, {"profile_ids": [customers["anna"]], "cursor": None})
    code, segment, _ = run(capsys, "segments", "get", "pet-food")
    assert (code, segment["size"], segment["backfill"]["state"]) == (0, 1, "done")
    code, listed, _ = run(capsys, "segments", "list")
    assert (code, [s["segment_id"] for s in listed]) == (0, ["pet-food"])


def test_segments_update_rule_then_backfill_members_follow_the_new_rule(runtime, capsys, customers):
    run(capsys, "segments", "create", "--id", "buyers", "--name", "Buyers", "--rule", json.dumps(PET_RULE))
    runtime.run()
    tea = json.dumps({"purchased": {"category": "tea"}})
    code, changed, _ = run(capsys, "segments", "update", "buyers", "--rule", tea, "--name", "Tea buyers")
    assert (code, changed["version"], changed["name"]) == (0, 2, "Tea buyers")
    runtime.run()
    code, members, _ = run(capsys, "segments", "members", "buyers", "--limit", "1")
    assert (code, members) == (0, {"profile_ids": [customers["vera"]], "cursor": None})


def test_segments_delete_then_get_is_not_found(runtime, capsys, customers):
    run(capsys, "segments", "create", "--id", "gone", "--name", "Gone", "--rule", json.dumps(PET_RULE))
    runtime.run()
    code, deleted, _ = run(capsys, "segments", "delete", "gone")
    assert (code, deleted["status"]) == (0, "deleting")
    runtime.run()  # the deletion's pages
    code, shown, err = run(capsys, "segments", "get", "gone")
    assert (code, shown, err) == (2, None, "asusual: segment_id: no segment 'gone'\n")


def test_segments_create_bad_rule_exits_2_naming_the_key(runtime, capsys):
    rule = json.dumps({"all": [{"country": "RU"}, {"purchased": {"within_dayz": 90}}]})
    code, out, err = run(capsys, "segments", "create", "--id", "bad", "--name", "Bad", "--rule", rule)
    assert (code, out) == (2, None)
    assert err.startswith("asusual: rule.all[1].purchased.within_dayz: unknown key") and err.count("\n") == 1
    assert run(capsys, "segments", "list")[1] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["segments", "create", "--id", "x", "--name", "X", "--rule", "{not json"],
            "asusual: --rule: not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)); pass the rule as JSON or @FILE\n",
        ),
        (
            ["segments", "create", "--id", "Bad Id", "--name", "X", "--rule", '{"country": "RU"}'],
            "asusual: segment_id: Value error, segment_id: 1 to 64 of a-z, 0-9, _ and -, starting with a "
            "letter or digit\n",
        ),
        (
            ["segments", "create", "--id", "x", "--name", "X", "--rule", "@/nonexistent/rule.json"],
            "asusual: --rule: cannot read '/nonexistent/rule.json' ([Errno 2] No such file or directory: "
            "'/nonexistent/rule.json')\n",
        ),
        (["segments", "update", "x"], "asusual: body: a new rule, a new name, or both\n"),
        (["segments", "members", "x", "--limit", "0"], "asusual: limit: from 1 to 1000\n"),
        (["campaigns", "get", "Not An Id"], "asusual: campaign_id: no campaign 'Not An Id'\n"),
        (["campaigns", "get", "nothing"], "asusual: no campaign 'nothing'\n"),
    ],
)
def test_segments_and_campaigns_bad_input_exit_2_naming_the_field(runtime, capsys, argv, message):
    assert run(capsys, *argv) == (2, None, message)


@pytest.mark.parametrize("action", [["create", "--id", "q", "--name", "Q", "--rule", '{"country": "RU"}'],
                                    ["update", "q", "--name", "Q2"], ["delete", "q"]])  # fmt: skip
def test_segments_write_without_queue_url_refuses_before_writing(runtime, capsys, monkeypatch, action):
    monkeypatch.delenv("ASUSUAL_SEGMENTS_QUEUE_URL")
    code, out, err = run(capsys, "segments", *action)
    assert (code, out) == (2, None)
    assert err == (
        f"asusual: segments {action[0]}: needs the segments queue for its back-fill and deletion pages; "
        "pass --segments-queue-url (the stack's SegmentsQueueUrl) or set ASUSUAL_SEGMENTS_QUEUE_URL\n"
    )
    assert run(capsys, "segments", "list")[1] == []


def test_segments_create_with_queue_url_option_is_backfilled(runtime, capsys, monkeypatch, customers):
    queue = runtime.queue_urls["segments"]
    monkeypatch.delenv("ASUSUAL_SEGMENTS_QUEUE_URL")
    argv = ["segments", "create", "--id", "pets", "--name", "Pets", "--rule", json.dumps(PET_RULE)]
    assert run(capsys, *argv, "--segments-queue-url", queue)[0] == 0
    runtime.run()
    assert run(capsys, "segments", "members", "pets")[1] == {
        "profile_ids": [customers["anna"]],
        "cursor": None,
    }


def campaign_file(tmp_path, **overrides):
    body = {
        "campaign_id": "pets-december",
        "segment_id": "pet-food",
        "topic": "marketing",
        "send_at": {"local_date": "2026-12-10", "local_time": "10:00"},
        "holdout_percent": 10,
        "conversion_window_days": 7,
        "content": CONTENT,
        **overrides,
    }
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def pet_food(runtime, capsys, customers):
    code, _, err = run(capsys, "segments", "create", "--id", "pet-food", "--name", "Pet food",
                       "--rule", json.dumps(PET_RULE))  # fmt: skip
    assert (code, err) == (0, "")
    runtime.run()
    return customers


def test_campaigns_create_get_cancel_report_round_trip(runtime, capsys, pet_food, tmp_path):
    code, created, err = run(capsys, "campaigns", "create", "--file", campaign_file(tmp_path))
    assert (code, err) == (0, "")
    assert (created["campaign_id"], created["segment_id"], created["status"]) == (
        "pets-december", "pet-food", "scheduled"
    )  # fmt: skip
    code, shown, _ = run(capsys, "campaigns", "get", "pets-december")
    assert (code, shown) == (0, created)
    code, cancelled, _ = run(capsys, "campaigns", "cancel", "pets-december")
    assert (code, cancelled["status"]) == (0, "cancelled")
    assert run(capsys, "campaigns", "get", "pets-december")[1]["status"] == "cancelled"
    code, report, _ = run(capsys, "campaigns", "report")
    assert code == 0
    assert [(p["program"], p["id"], p["audience"]) for p in report["campaigns"]] == [
        ("campaign", "pets-december", 0)
    ]
    assert report["triggers"] == []


def test_campaigns_create_twice_exits_2_as_a_conflict(runtime, capsys, pet_food, tmp_path):
    path = campaign_file(tmp_path)
    assert run(capsys, "campaigns", "create", "--file", path)[0] == 0
    assert run(capsys, "campaigns", "create", "--file", path) == (
        2, None, "asusual: campaign_id: 'pets-december' exists\n"
    )  # fmt: skip


def test_campaigns_create_bad_content_exits_2_naming_locale_and_field(runtime, capsys, pet_food, tmp_path):
    path = campaign_file(tmp_path, content={"ru": {"subject": "{{ hello", "body": "x", "text": "x"}})
    message = "content.ru.subject: Liquid syntax error: expected '}}', found end of file (line 1, column 0)"
    assert run(capsys, "campaigns", "create", "--file", path) == (2, None, f"asusual: {message}\n")
    assert run(capsys, "campaigns", "report")[1]["campaigns"] == []


def test_campaigns_create_unknown_field_exits_2_naming_it(runtime, capsys, pet_food, tmp_path):
    code, _, err = run(capsys, "campaigns", "create", "--file", campaign_file(tmp_path, holdout=5))
    assert (code, err) == (2, "asusual: holdout: Extra inputs are not permitted\n")


def test_campaigns_preview_shows_the_named_member_and_keeps_nothing(runtime, capsys, pet_food, tmp_path):
    path = campaign_file(tmp_path)
    code, shown, err = run(capsys, "campaigns", "preview", "--file", path, "--profile-id", pet_food["anna"])
    assert (code, err) == (0, "")
    assert [m["profile_id"] for m in shown["sample"]] == [pet_food["anna"]]
    assert run(capsys, "campaigns", "get", "pets-december")[0] == 2


def test_campaigns_report_text_mode_prints_one_line_per_program(runtime, capsys, pet_food, tmp_path):
    run(capsys, "campaigns", "create", "--file", campaign_file(tmp_path))
    capsys.readouterr()
    assert cli.main(["campaigns", "report"]) == 0
    assert capsys.readouterr().out == (
        "program=campaign  id=pets-december  audience=0  holdout=0  sent=0  verdict=too_small_to_tell  "
        "says=Too early to tell: 0 recipients and 0 in the holdout, of whom 0 and 0 ordered; each group "
        "needs at least 30 people and one of them at least 5 who ordered.\n"
    )
