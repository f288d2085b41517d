"""The ``recommendations`` template variable (docs/recommendations.md): products like ``products``,
an empty list when there are none, a sensitive one never named off an email body, and read by the
dispatcher only for a template that prints it."""

from asusual.content.pack import check_source, uses_variable, with_templates
from asusual.content.render import compose, default_pack
from tests.unit.content import product, profile, request

ANNA = profile(first_name="Анна", timezone="Europe/Moscow")

CAMPAIGN_FACTS = {
    "trigger": "campaign",
    "campaign_id": "c1",
    "segment_name": "Pets",
    "segment_reason": "pet owner",
}
LIST = "{{ hello }}!{% for p in recommendations %} {{ p.name }} ({{ p.price_text }}){% endfor %}"


def render(body, recommendations):
    pack = with_templates(default_pack(), "campaign", {"sms": {"ru": (None, body)}})
    base = request("campaign", "sms", ANNA, zones=("Europe/Moscow",), facts=CAMPAIGN_FACTS)
    return compose(pack, base.model_copy(update={"recommendations": recommendations})).body


def test_recommendations_variable_lists_names_and_prices():
    body = render(
        LIST, (product("Миска", "490", product_id="bowl"), product("Мышка", "150", product_id="toy"))
    )
    assert body.splitlines()[0].endswith("! Миска (490,00\xa0₽) Мышка (150,00\xa0₽)")


def test_recommendations_variable_empty_list_when_none():
    body = render(LIST + "{% if has_recommendations %} more{% endif %}", ())
    assert body.splitlines()[0].endswith("!")


def test_recommendations_variable_sensitive_product_never_named_in_an_sms():
    pills = product("Мазь от блох", "250", product_id="rx", sensitive=True)
    assert "мазь" not in render(LIST, (pills,)).lower()


def test_recommendations_is_a_known_variable_and_uses_variable_finds_it():
    check_source("ru", LIST, "content.ru.text")  # raises for an unknown variable
    pack = with_templates(
        default_pack(), "campaign", {"sms": {"ru": (None, LIST)}, "email": {"ru": ("x", "y")}}
    )
    assert uses_variable(pack, "campaign", "sms", "recommendations") is True
    assert uses_variable(pack, "campaign", "email", "recommendations") is False
    assert uses_variable(default_pack(), "birthday", "email", "recommendations") is False
