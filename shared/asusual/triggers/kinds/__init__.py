"""Trigger kinds as plug-ins: one module per kind declares what the dispatcher needs of it
(``base.TriggerKind``); this registry maps each facts model of the Intent's union to its kind and
refuses to load when a facts model has no kind, or a kind's facts are not in the union.

Adding a kind: its facts model in ``triggers/models.py`` (and in ``Facts``), its module here with a
``KIND``, listed below, its templates and why line in the content packs, and its tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, get_args

from pydantic import BaseModel

from asusual.triggers.kinds import (
    back_in_stock,
    birthday,
    browse_abandonment,
    campaign,
    cart_abandonment,
    consent_confirmation,
    order_status,
    price_drop,
    replenishment,
    welcome,
)
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import Facts


def facts_models() -> tuple[type[BaseModel], ...]:
    """Every facts model of the Intent's discriminated union."""
    union = get_args(Facts)[0]
    return tuple(get_args(union))


def registry(
    kinds: Iterable[TriggerKind[Any]], models: Iterable[type[BaseModel]]
) -> Mapping[str, TriggerKind[Any]]:
    """Trigger name (the facts' discriminator) → its kind, covering ``models`` exactly."""
    found: dict[str, TriggerKind[Any]] = {}
    for kind in kinds:
        if kind.trigger in found:
            raise ValueError(f"two trigger kinds for {kind.trigger!r}")
        found[kind.trigger] = kind
    expected = set(models)
    declared = {kind.facts_model for kind in found.values()}
    if missing := sorted(m.__name__ for m in expected - declared):
        raise ValueError(f"no trigger kind for {', '.join(missing)}")
    if extra := sorted(m.__name__ for m in declared - expected):
        raise ValueError(f"trigger kinds for facts outside the Intent: {', '.join(extra)}")
    return found


KINDS = registry(
    (
        order_status.KIND,
        birthday.KIND,
        replenishment.KIND,
        welcome.KIND,
        consent_confirmation.KIND,
        campaign.KIND,
        # back in stock and price drop (asusual.triggers.stock)
        back_in_stock.KIND,
        price_drop.KIND,
        cart_abandonment.KIND,
        browse_abandonment.KIND,
    ),
    facts_models(),
)


def kind_of(facts: Facts) -> TriggerKind[Any]:
    """The kind of an intent's facts."""
    return KINDS[facts.trigger]


__all__ = ["KINDS", "TriggerKind", "facts_models", "kind_of", "registry"]
