"""FiredOrdersMaxConcurrency: the template's parameter is the fired-orders event source's
MaximumConcurrency, and make dev's local event source runs as many workers as it says (as
PlansMaxConcurrency does for the plans' queue: tests/plans_engine/test_thousand_at_once.py)."""

from __future__ import annotations

from local.devstack import DevStack
from local.queues import EventSource, event_sources_of
from local.template import load_template


def _fired_orders(parameters: dict[str, str] | None = None) -> EventSource:
    (source,) = [s for s in event_sources_of(load_template(), parameters) if s.queue == "FiredOrdersQueue"]
    return source


def test_the_fired_orders_consumers_concurrency_is_the_templates_parameter() -> None:
    template = load_template()
    parameter = template["Parameters"]["FiredOrdersMaxConcurrency"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (2, 1000)  # what an SQS event source allows
    mapping = template["Resources"]["FiredOrdersFunction"]["Properties"]["Events"]["FiredOrders"]["Properties"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "FiredOrdersMaxConcurrency"}
    assert _fired_orders().max_concurrency == int(parameter["Default"])
    assert _fired_orders({"FiredOrdersMaxConcurrency": "7"}).max_concurrency == 7  # as a deploy or make dev gives it


def test_make_devs_fired_orders_workers_follow_the_parameter(stack: DevStack) -> None:
    default = int(load_template()["Parameters"]["FiredOrdersMaxConcurrency"]["Default"])
    (source,) = [s for s in stack.event_sources if s.source.queue == "FiredOrdersQueue"]
    assert source.max_concurrency == default
    assert source.workers_alive() == default
