"""Issue 21, item 7: what the behaviour triggers add to the processor's cost, per Product Viewed and
per Product Added, on DynamoDB Local, through the real intake and processor (the method and the
meter of test_capacity.py: units per event, each access pattern apart).

Workload: the 200 customers of test_capacity sign up and have the same history; then, one kind at
a time on one day, 300 Product Viewed and 300 Product Added of the 24 catalog products, 2 seconds
apart, 100 per request and the last 40 of each one per request (the processor gets full batches
of 100). A customer's third view of a product within a week arms the browse timer; an add arms the
cart timer unless the cart was busy less than 15 minutes before (asusual.triggers.abandonment)."""

from __future__ import annotations

import random
from datetime import timedelta

from tests.benchmarks.harness import Figure, check, record
from tests.benchmarks.test_capacity import CUSTOMERS, SINGLE_REQUESTS, Workload, kind_costs, metered_stack
from tests.conftest import T0

EVENTS = {"viewed": "Product Viewed", "added": "Product Added"}
TIMER = "UpdateItem PROFILE/ABANDON"


def test_units_per_product_viewed_and_added_with_the_behaviour_triggers(dynamodb_local):
    work = Workload(CUSTOMERS, seed=21)
    with metered_stack(dynamodb_local.endpoint, work) as driver:
        meter, clock = driver.meter, driver.runtime.clock
        customers = work.customers
        driver.send("identify_new", [work.identify(c, clock.now()) for c in customers])
        clock.set(T0 - timedelta(days=10))
        driver.send("history", [work.order(c, clock.now()) for c in customers])
        clock.set(T0)
        rng = random.Random(21)
        for kind, name in EVENTS.items():
            messages = []
            for customer in (rng.choice(customers) for _ in range(300)):
                message = work.track(customer, clock.now())
                message["event"] = name
                messages.append(message)
            driver.send(kind, messages, single=SINGLE_REQUESTS)
        costs = {kind: kind_costs(meter, driver, kind) for kind in EVENTS}
    assert not meter.local_capacity_missing
    figures = []
    for kind, name in EVENTS.items():
        cost = costs[kind]
        timer = cost.by_pattern.get(TIMER, {}).get("write", 0.0)
        arms = cost.by_pattern.get(TIMER, {}).get("calls", 0.0)
        figures += [
            Figure(
                "h",
                f"write units per {name} event",
                round(cost.write, 3),
                "WCU/event",
                id=f"wru_product_{kind}",
                note=f"{cost.events} events; abandonment timer {timer:.3f}",
                detail={"by_access_pattern_per_event": cost.by_pattern},
            ),
            Figure(
                "h",
                f"read units per {name} event",
                round(cost.read, 3),
                "RCU/event",
                id=f"rru_product_{kind}",
            ),
            # the behaviour triggers' own share: a view arms only on a product's qualifying view,
            # an add once per burst of cart activity
            Figure(
                "h",
                f"abandonment timer write units per {name} event",
                round(timer, 3),
                "WCU/event",
                id=f"abandonment_timer_wru_product_{kind}",
                limit=0.05 if kind == "viewed" else None,
                note=f"{arms:.2f} timer writes per event",
            ),
        ]
        if kind == "added":
            # an armed timer is one small item and its due-index entry (2 units); a re-arm that
            # moves the entry to another day's partition deletes the old entry too (3)
            figures.append(
                Figure(
                    "h",
                    "write units per abandonment timer armed",
                    round(timer / arms, 3) if arms else 0.0,
                    "WCU/write",
                    id="wru_per_abandonment_timer_armed",
                    limit=2.5,
                )
            )
    check(*[record(f) for f in figures])
