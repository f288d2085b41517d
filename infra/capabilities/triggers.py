"""Triggers: the sweeps that turn due birthdays, replenishment reminders and abandonment timers
into intents.
They read their index partitions (never scan) and send to the intents queue. (Order status
triggers run in the event processor: Profiles.) And the stock worker: the fan-out of a restock or
price drop (the stock queue, which catalog uploads write to: Admin) to the customers in the
product's interest index, a page a message."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from asusual.store.tables import GSI1
from infra.foundation import Foundation
from infra.foundation.queues import CONSUMER_TIMEOUT
from infra.foundation.schedules import every

# sweep → (description, how often it runs, the item actions it needs besides querying gsi1)
SWEEPS = {
    "birthday_sweep": (
        "Hourly: congratulates customers whose local birthday window is open, once a year",
        Duration.hours(1),
        ("dynamodb:UpdateItem",),
    ),
    "replenishment_sweep": (
        "Hourly: emits the replenishment reminders that are due",
        Duration.hours(1),
        ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"),
    ),
    "abandonment_sweep": (
        "Every 15 minutes: reminds customers of carts and browsed products they left, once",
        Duration.minutes(15),
        ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"),
    ),
}


class Triggers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, base: Foundation) -> None:
        super().__init__(scope, construct_id)
        intents = base.queues["intents"]
        self.sweeps: dict[str, lambda_.Function] = {}
        for name, (description, rate, item_actions) in SWEEPS.items():
            sweep = base.function(
                self,
                name,
                description=description,
                timeout=Duration.minutes(5),
                memory_mb=512,
                environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url},
            )
            base.storage.grant_index_query(sweep, GSI1)
            base.storage.grant_items(sweep, *item_actions)
            intents.queue.grant_send_messages(sweep)
            every(self, name.title().replace("_", ""), rate, sweep)
            self.sweeps[name] = sweep

        # one page a message: the product (GetItem), its interest index (gsi1), the customers'
        # profiles (BatchGetItem: merges, consent), the fan-out's progress (GetItem, UpdateItem
        # conditional on the position); intents to the intents queue, the next page to its own
        stock = base.queues["stock"]
        self.stock_worker = base.function(
            self,
            "stock_worker",
            description="Tells who viewed or added a product that it is back in stock or cheaper",
            timeout=CONSUMER_TIMEOUT,
            memory_mb=1024,
            environment={
                "ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url,
                "ASUSUAL_STOCK_QUEUE_URL": stock.queue.queue_url,
            },
        )
        base.storage.grant_index_query(self.stock_worker, GSI1)
        base.storage.grant_items(
            self.stock_worker, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"
        )
        intents.queue.grant_send_messages(self.stock_worker)
        stock.queue.grant_send_messages(self.stock_worker)  # the next page
        base.queues.consume("stock", self.stock_worker, batch_size=1)
