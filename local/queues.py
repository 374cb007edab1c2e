"""The template's SQS queues and SQS event sources, locally: queues in moto, and each event source
mapping polled by as many workers as its ScalingConfig's MaximumConcurrency, invoking our handler
with Lambda's SQS event and deleting what it did not report in ``batchItemFailures``
(ReportBatchItemFailures), as the Lambda service does.

A failed message comes back after the queue's visibility timeout; locally that is ``visibility_seconds``
(12 s, not the template's six minutes), so a test sees its redelivery soon. It must stay longer than
a Minted call can take (the client's read timeout, 10 s): a run delivered again while its first
attempt's buy is still on its way would look Minted up too early, as on AWS with too short a timeout. ``duplicate=True``
delivers every message twice (a copy is sent back the first time it is received): SQS's at-least-once
delivery, made certain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from local.gateway import invoke
from local.template import FunctionSpec, functions_of, resources_of_type

logger = logging.getLogger(__name__)
REGION = "eu-central-1"


def create_queues(sqs: Any, template: dict[str, Any]) -> dict[str, str]:
    """Every AWS::SQS::Queue of the template, named by its logical id (dead-letter queues first, so a
    redrive policy can name one); returns each logical id's queue URL (what !Ref gives)."""
    queues = resources_of_type(template, "AWS::SQS::Queue")
    order = sorted(queues, key=lambda name: "RedrivePolicy" in queues[name].get("Properties", {}))
    urls: dict[str, str] = {}
    for name in order:
        props = queues[name].get("Properties", {})
        attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            arn = sqs.get_queue_attributes(QueueUrl=urls[target], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                      "maxReceiveCount": str(redrive["maxReceiveCount"])})  # fmt: skip
        urls[name] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return urls


@dataclass(frozen=True)
class EventSource:
    name: str
    function: FunctionSpec
    queue: str  # the queue's logical id
    batch_size: int
    max_concurrency: int
    report_failures: bool


def event_sources_of(template: dict[str, Any], parameters: dict[str, str] | None = None) -> list[EventSource]:
    parameters = parameters or {}
    functions = functions_of(template)
    found = []
    for logical_id, spec in functions.items():
        for name, event in template["Resources"][logical_id]["Properties"].get("Events", {}).items():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            concurrency = props.get("ScalingConfig", {}).get("MaximumConcurrency", 1000)
            if isinstance(concurrency, dict) and "Ref" in concurrency:
                ref = concurrency["Ref"]
                concurrency = parameters.get(ref, template["Parameters"][ref]["Default"])
            found.append(EventSource(name, spec, props["Queue"]["Fn::GetAtt"][0], int(props.get("BatchSize", 10)),
                                     int(concurrency),
                                     "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])))  # fmt: skip
    return found


class LocalEventSource:
    """One event source mapping: ``max_concurrency`` workers, each one batch (one invocation) at a time."""

    def __init__(self, source: EventSource, sqs: Any, queue_url: str, *, visibility_seconds: int = 12,
                 duplicate: bool = False, max_concurrency: int | None = None) -> None:  # fmt: skip
        self.source = source
        self._sqs = sqs
        self._url = queue_url
        self._arn = f"arn:aws:sqs:{REGION}:123456789012:{source.queue}"
        self.visibility_seconds = visibility_seconds
        self.duplicate = duplicate
        self.max_concurrency = max_concurrency or source.max_concurrency
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0
        self.running = 0
        self.most_running = 0

    def start(self) -> LocalEventSource:
        for index in range(self.max_concurrency):
            thread = threading.Thread(target=self._work, name=f"sqs-{self.source.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def workers_alive(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                received = self._sqs.receive_message(
                    QueueUrl=self._url, MaxNumberOfMessages=self.source.batch_size, WaitTimeSeconds=1,
                    VisibilityTimeout=self.visibility_seconds, AttributeNames=["All"],
                ).get("Messages", [])  # fmt: skip
            except Exception:  # moto stopping, or busy: try again
                if self._stop.wait(0.5):
                    return
                continue
            if received:
                self._deliver(received)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        if self.duplicate:
            self._send_copies(messages)
        event = {"Records": [self._record(m) for m in messages]}
        with self._lock:
            self.invocations += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            result = invoke(self.source.function, event)
        except Exception:  # the whole batch comes back after its visibility timeout, as on Lambda
            logger.exception("%s: the batch failed", self.source.name)
            return
        finally:
            with self._lock:
                self.running -= 1
        failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])}
        if not self.source.report_failures and failed:
            return  # without ReportBatchItemFailures a partial failure is the whole batch's
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ]
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)

    def _send_copies(self, messages: list[dict[str, Any]]) -> None:
        copies = []
        with self._lock:
            for message in messages:
                key = hashlib.sha256(message["Body"].encode()).hexdigest()
                if key not in self._seen:
                    self._seen.add(key)
                    copies.append(message["Body"])
        for start in range(0, len(copies), 10):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(copies[start : start + 10])]
            self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"], "attributes": message.get("Attributes", {}), "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs",
                "eventSourceARN": self._arn, "awsRegion": REGION}  # fmt: skip

    def idle(self) -> bool:
        """Nothing in the queue (visible or in flight) and no invocation running.

        Read twice: moto counts the visible and the in-flight messages one after the other, so a failed
        message whose visibility timeout ends between the two counts is in neither. It cannot end twice
        in a row, so two empty reads mean an empty queue."""
        with self._lock:
            running = self.running
        return running == 0 and self._empty() and self._empty()

    def _empty(self) -> bool:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(v) == 0 for v in attributes.values())


def scheduled_input(event: dict[str, Any], at: float | None = None) -> dict[str, Any]:
    """Scheduler's context attributes in a schedule's input, filled in as Scheduler fills them."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at if at is not None else time.time()))
    text = json.dumps(event).replace("<aws.scheduler.scheduled-time>", when)
    text = text.replace("<aws.scheduler.execution-id>", str(uuid.uuid4()))
    filled: dict[str, Any] = json.loads(text)
    return filled
