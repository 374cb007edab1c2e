"""The order-events pipe, locally: what EventBridge Pipes does with the ledger's DynamoDB stream.

moto has the stream and the bus but no Pipes. This reads the template's pipe (its source table,
filter, enrichment function, target bus, source and detail type), polls the stream, hands each
batch to the enrichment function's real handler as Pipes would, and puts what it returns on the bus
in moto. ``make dev`` prints one line per event; a rule on the bus receives them as a deployed
consumer would.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.gateway import invoke
from local.template import FunctionSpec, functions_of, load_template, resources_of_type

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.2
# Pipes retries a batch its enrichment fails on; locally it is tried this often, then logged and dropped.
ATTEMPTS = 3


@dataclass(frozen=True)
class PipeSpec:
    name: str
    table: str  # logical id of the source table (its local name)
    enrichment: FunctionSpec
    bus: str  # logical id of the target bus (its local name)
    source: str
    detail_type: str  # a literal, or "$.field" read from each event
    batch_size: int
    pattern: dict[str, Any]


def _logical_id(value: Any) -> str:
    """The resource a !GetAtt X.Arn / X.StreamArn or !Ref X names."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise ValueError(f"the local pipe reads only !GetAtt or !Ref, not {value!r}")


def pipes_of(template: dict[str, Any] | None = None) -> list[PipeSpec]:
    template = template or load_template()
    functions = functions_of(template)
    found = []
    for name, pipe in resources_of_type(template, "AWS::Pipes::Pipe").items():
        props = pipe["Properties"]
        source = props.get("SourceParameters", {})
        stream = source.get("DynamoDBStreamParameters", {})
        filters = source.get("FilterCriteria", {}).get("Filters", [])
        target = props.get("TargetParameters", {}).get("EventBridgeEventBusParameters", {})
        found.append(
            PipeSpec(
                name=name,
                table=_logical_id(props["Source"]),
                enrichment=functions[_logical_id(props["Enrichment"])],
                bus=_logical_id(props["Target"]),
                source=str(target.get("Source", "")),
                detail_type=str(target.get("DetailType", "")),
                batch_size=int(stream.get("BatchSize", 10)),
                pattern=json.loads(filters[0]["Pattern"]) if filters else {},
            )
        )
    return found


def _matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """The filter patterns this template uses: top-level fields, each one of a list of values."""
    return all(record.get(key) in allowed for key, allowed in pattern.items())


def _field(event: dict[str, Any], path: str) -> str:
    """A target parameter: a literal, or a dynamic path ($.type) into the event, as Pipes reads it."""
    if not path.startswith("$."):
        return path
    value: Any = event
    for part in path[2:].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return str(value)


class LocalPipe:
    def __init__(self, spec: PipeSpec, dynamodb: Any, streams: Any, events: Any,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:  # fmt: skip
        self.spec = spec
        self._streams = streams
        self._events = events
        self._on_event = on_event
        self._stream_arn = dynamodb.describe_table(TableName=spec.table)["Table"]["LatestStreamArn"]
        self._iterators: dict[str, str | None] = {}
        self._failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0

    def poll(self) -> int:
        """One pass over every shard: what has arrived goes through the enrichment to the bus."""
        count = 0
        shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:  # TRIM_HORIZON, as the template's pipe starts
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue
            answer = self._streams.get_records(ShardIterator=iterator, Limit=self.spec.batch_size)
            records = [r for r in answer["Records"] if _matches(self.spec.pattern, r)]
            if records and not self._deliver(records):
                continue  # the same batch again next time, as Pipes retries it
            self._iterators[shard_id] = answer.get("NextShardIterator")
            count += len(records)
        return count

    def _deliver(self, records: list[dict[str, Any]]) -> bool:
        batch = [{**r, "eventSourceARN": self._stream_arn} for r in records]
        try:
            events = invoke(self.spec.enrichment, batch) or []  # type: ignore[arg-type]
        except Exception:
            self._failures += 1
            if self._failures < ATTEMPTS:
                logger.exception("the order-events enrichment failed; the batch is tried again")
                return False
            logger.exception("the order-events enrichment failed %d times; the batch is dropped", ATTEMPTS)
            self._failures = 0
            return True
        self._failures = 0
        for start in range(0, len(events), 10):  # PutEvents takes ten entries at a time
            chunk = events[start : start + 10]
            self._events.put_events(Entries=[{
                "Source": _field(event, self.spec.source), "DetailType": _field(event, self.spec.detail_type),
                "Detail": json.dumps(event), "EventBusName": self.spec.bus,
            } for event in chunk])  # fmt: skip
            for event in chunk:
                self.published += 1
                if self._on_event is not None:
                    self._on_event(event)
        return True

    def start(self) -> LocalPipe:
        self._thread = threading.Thread(target=self._run, name=f"pipe-{self.spec.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # moto going away at shutdown, for one
                if not self._stop.is_set():
                    logger.exception("the local order-events pipe could not poll")
            self._stop.wait(POLL_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def print_event(event: dict[str, Any]) -> None:
    """make dev's console line for one event: no personal data is in an event to print."""
    status = f" {event['status']}" if event.get("status") else ""
    if "kind" in event:  # a conditional order's or a price alert's (minted_gateway/conditional/events.py)
        failure = f" ({event['failure']['code']})" if event.get("failure") else ""
        logger.info("event  %-20s %s %s %s %s at %s%s", event["type"], event["id"], event["sku"], event["price_side"],
                    event["trigger_price"], event.get("price"), failure)  # fmt: skip
        return
    if "plan_id" in event:  # a savings plan's run (minted_gateway/plans/engine.py, run_event)
        outcome = event.get("reason") or f"{event.get('grams')} g"  # a failed run may have had its grams fixed
        logger.info("event  %-20s %s %s %s", event["type"], event["plan_id"], event["period"], outcome)
        return
    if "version" not in event:  # the reconciler's own (OrderNotInLedger): why the ledger does not account for it
        ledger = f" (ledger {event['ledger_state']})" if event.get("ledger_state") else ""
        logger.info("event  %-20s %s %s%s, at Minted%s", event["type"], event.get("external_id"),
                    event.get("reason"), ledger, status)  # fmt: skip
        return
    logger.info("event  %-20s %s v%s %s%s", event["type"], event["external_id"], event["version"],
                event["state"], status)  # fmt: skip


class BusTap:
    """What our code puts on the bus itself (the reconciler's OrderNotInLedger), not through the pipe:
    a rule on the bus sends those to a queue in moto, as a deployed consumer's rule would, and each
    is handed to ``on_event`` (make dev prints it)."""

    DETAIL_TYPES = ("OrderNotInLedger", "PriceAlertTriggered", "ConditionalOrderTriggered", "ConditionalOrderPlaced",
                    "ConditionalOrderFailed", "PlanRunSucceeded", "PlanRunFailed", "PlanRunSkipped")  # fmt: skip

    def __init__(self, bus: str, events: Any, sqs: Any, on_event: Callable[[dict[str, Any]], None]) -> None:
        self._sqs = sqs
        self._on_event = on_event
        self._queue = sqs.create_queue(QueueName=f"{bus}-console")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"{bus}-console"
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"detail-type": list(self.DETAIL_TYPES)}))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "console", "Arn": arn}])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        messages = self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self._on_event(json.loads(message["Body"])["detail"])
            self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def start(self) -> BusTap:
        self._thread = threading.Thread(target=self._run, name="bus-tap", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:
                if not self._stop.is_set():
                    logger.exception("the local bus tap could not poll")
            self._stop.wait(POLL_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
