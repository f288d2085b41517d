"""Back in stock: a product the customer viewed or added to the cart can be bought again."""

from __future__ import annotations

from asusual.triggers.kinds.wanted import WantedProductKind
from asusual.triggers.models import BackInStockFacts


class BackInStockKind(WantedProductKind[BackInStockFacts]):
    facts_model = BackInStockFacts


KIND = BackInStockKind()
