"""The price schedule, locally: the template's ScheduleV2 events fired on a timer at our handlers.

EventBridge Scheduler is not in moto; this reads the same rate and input from the template, so the
local stack refreshes prices the way the deployed one does.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from local.gateway import invoke
from local.queues import scheduled_input
from local.template import FunctionSpec, functions_of, load_template

logger = logging.getLogger(__name__)
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


@dataclass(frozen=True)
class Schedule:
    name: str
    function: FunctionSpec
    every_seconds: int
    event: dict[str, Any]


def rate_seconds(expression: str) -> int:
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", expression.strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"only rate(N unit) schedules run locally, not {expression!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def schedules_of(template: dict[str, Any] | None = None) -> list[Schedule]:
    template = template or load_template()
    functions = functions_of(template)
    found = []
    for logical_id, spec in functions.items():
        events = template["Resources"][logical_id]["Properties"].get("Events", {})
        for name, event in events.items():
            if event["Type"] != "ScheduleV2":
                continue
            props = event["Properties"]
            expression = props["ScheduleExpression"]
            if isinstance(expression, dict) and "Ref" in expression:
                expression = template["Parameters"][expression["Ref"]]["Default"]
            found.append(Schedule(name, spec, rate_seconds(expression), json.loads(props.get("Input", "{}"))))
    return found


class LocalScheduler:
    def __init__(self, schedules: list[Schedule]) -> None:
        self.schedules = schedules
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def fire(self, schedule: Schedule) -> Any:
        """One run, as Scheduler would deliver it (a failure is logged; Scheduler would retry)."""
        try:
            return invoke(schedule.function, scheduled_input(schedule.event))
        except Exception:
            logger.exception("scheduled %s failed", schedule.name)
            return None

    def start(self) -> LocalScheduler:
        for schedule in self.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), name=f"schedule-{schedule.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, schedule: Schedule) -> None:
        while not self._stop.is_set():
            self.fire(schedule)
            self._stop.wait(schedule.every_seconds)

    def stop(self) -> None:
        self._stop.set()
