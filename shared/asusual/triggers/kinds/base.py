"""What a trigger kind tells the dispatcher about its intents, declared once in the kind's module.

The dispatcher asks the kind instead of testing the facts' type: the template key, how long a
held-back marketing message stays worth sending, which products it must read, the products the
message names (with their quantities), which of them must be in the customer's local season, and
whether the message may show the day's offer. The defaults fit a kind that names no product and
lives as long as nobody says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.profiles.state import ProfileState

F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True)
class Recipient:
    """The one address a kind's message must go to, instead of the channel the dispatcher would
    choose; ``address`` None: nobody to send it to any more, for ``reason``."""

    channel: str
    address: str | None
    reason: str = "requested_address"


class TriggerKind(Generic[F]):
    """One kind of trigger. A subclass names its facts model (one of the Intent's ``Facts``); the
    model's ``trigger`` discriminator is the kind's name."""

    facts_model: type[F]
    # after this a held-back marketing message is pointless (None: no limit)
    useful_life: ClassVar[timedelta | None] = None
    # the message may show the day's offer (chosen once per local day, kept on every channel)
    shows_offer: ClassVar[bool] = False
    # the products it names carry today's catalog price (kept for the local day)
    prices_products: ClassVar[bool] = False
    # facts the message's explanation leaves out: what the message itself shows (a campaign's
    # words in every locale would make each message record, written twice, many KB larger)
    unexplained_facts: ClassVar[frozenset[str]] = frozenset()
    # a share of its messages may be held out to measure what they earn (ASUSUAL_TRIGGER_HOLDOUTS);
    # False for messages owed to the customer (order status, a confirmation they asked for)
    may_hold_out: ClassVar[bool] = True

    @property
    def trigger(self) -> str:
        default: Any = self.facts_model.model_fields["trigger"].default
        return str(default)

    def template_key(self, facts: F) -> str:
        """The content pack's template (and the message log's ``trigger``)."""
        return self.trigger

    def useful_until(self, facts: F, created_at: datetime, zones: Sequence[str]) -> datetime | None:
        """After this a marketing message for the intent made at ``created_at`` goes no more."""
        return created_at + self.useful_life if self.useful_life is not None else None

    def product_ids(self, facts: F) -> frozenset[str]:
        """The catalog products the dispatcher must read for the message."""
        return frozenset()

    def products(self, facts: F, catalog: Mapping[str, CatalogProduct]) -> list[PricedProduct]:
        """The products the message names, given the catalog's entries for ``product_ids``."""
        return []

    def quantities(self, facts: F) -> dict[str, float]:
        """How many of each named product the facts speak of."""
        return {}

    def origin_channel(self, facts: F) -> str | None:
        """The channel the customer used for what the message is about (an order's channel): a
        transactional message goes back there when the customer has not chosen a channel."""
        return None

    def recipient(self, facts: F, state: ProfileState) -> Recipient | None:
        """The address the message must reach (a confirmation goes to the very address asked to
        confirm); None: the dispatcher chooses the channel."""
        return None

    def confirms(self, facts: F) -> tuple[str, str] | None:
        """The consent (channel, topic) the message asks the customer to confirm: it then carries
        the signed confirmation link (``confirm_url`` in its templates)."""
        return None

    def channels(self, facts: F) -> frozenset[str] | None:
        """The only channels the message may go on (a campaign's, those it has words for); None:
        any the dispatcher would choose."""
        return None

    def templates(self, facts: F) -> Mapping[str, Mapping[str, tuple[str | None, str]]] | None:
        """Channel → locale → (subject, body), Liquid, replacing the content pack's template for
        this intent (a campaign's own words); None: the pack's."""
        return None

    def program(self, facts: F) -> str | None:
        """The exposure program whose outcome the dispatcher records for this intent
        (``campaign#<id>``), and whose cancellation skips it; None: none."""
        return None

    def campaign_id(self, facts: F) -> str | None:
        """The campaign the message belongs to (its message record and outbox entry say so)."""
        return None

    def segment_id(self, facts: F) -> str | None:
        """The segment the message goes to: its explanation says in words why the customer is in it."""
        return None

    def obsolete(
        self, facts: F, state: ProfileState, catalog: Mapping[str, CatalogProduct], now: datetime
    ) -> str | None:
        """Why the message is no longer wanted when it is about to go (the cart was bought in the
        store while the reminder waited out the night, the product sold out again): the skip
        reason, or None. ``catalog`` holds the catalog's entries for ``product_ids``."""
        return None

    def in_season_only(self, facts: F) -> frozenset[str]:
        """Products the message is about only in their local season (no sunscreen in winter)."""
        return frozenset()

    @property
    def reads_day(self) -> bool:
        """Whether a dispatch reads the day's stored offer and prices."""
        return self.shows_offer or self.prices_products
