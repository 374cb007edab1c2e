"""The template's SQS queues and their Lambda consumers, locally: queues in moto, a poller per consumer.

Lambda's SQS event source is not in moto; this reads each function's ``Type: SQS`` event from the
template and does what the event source does: receive a batch, invoke the handler with the event
Lambda would send, and delete the messages it did not report in ``batchItemFailures``
(ReportBatchItemFailures). A failed message becomes visible again after the visibility timeout and
goes to the dead-letter queue after ``maxReceiveCount`` tries, as the template's RedrivePolicy says.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from local.gateway import invoke
from local.template import FunctionSpec, functions_of, load_template, resources_of_type

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.2
LOCAL_VISIBILITY_SECONDS = 1  # a failed message comes back quickly locally (the template's is minutes)


def create_queues(sqs: Any, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Create every AWS::SQS::Queue of the template, named by its logical id (dead-letter queues first);
    returns each one's URL, which is what ``!Ref`` gives."""
    template = template or load_template()
    queues = resources_of_type(template, "AWS::SQS::Queue")
    urls: dict[str, str] = {}
    for logical_id, resource in sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1]["Properties"]):
        attributes = {"VisibilityTimeout": str(LOCAL_VISIBILITY_SECONDS)}
        redrive = resource["Properties"].get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            arn = sqs.get_queue_attributes(QueueUrl=urls[target], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": str(redrive["maxReceiveCount"])}
            )
        urls[logical_id] = sqs.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
    return urls


@dataclass(frozen=True)
class QueueSource:
    queue: str  # the queue's logical id
    function: FunctionSpec
    batch_size: int


def queue_sources_of(template: dict[str, Any] | None = None) -> list[QueueSource]:
    template = template or load_template()
    functions = functions_of(template)
    found = []
    for logical_id, spec in functions.items():
        for event in template["Resources"][logical_id]["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                props = event["Properties"]
                found.append(QueueSource(props["Queue"]["Fn::GetAtt"][0], spec, int(props.get("BatchSize", 10))))
    return found


class LocalQueueConsumer:
    def __init__(self, source: QueueSource, sqs: Any, queue_url: str) -> None:
        self.source = source
        self._sqs = sqs
        self._url = queue_url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0

    def poll(self) -> int:
        """One batch, as the event source delivers it; the number of messages handed to the function."""
        received = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=self.source.batch_size,
                                             AttributeNames=["All"]).get("Messages", [])  # fmt: skip
        if not received:
            return 0
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
                    "eventSourceARN": self.source.queue} for m in received]  # fmt: skip
        try:
            answer = invoke(self.source.function, {"Records": records}) or {}
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        except Exception:
            logger.exception("the %s consumer failed; the batch comes back", self.source.queue)
            failed = {r["messageId"] for r in records}
        done = [{"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(records)
                if r["messageId"] not in failed]  # fmt: skip
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=done)
        self.delivered += len(records)
        return len(records)

    def start(self) -> LocalQueueConsumer:
        self._thread = threading.Thread(target=self._run, name=f"queue-{self.source.queue}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.poll():
                    continue
            except Exception:  # moto going away at shutdown, for one
                if not self._stop.is_set():
                    logger.exception("the local %s consumer could not poll", self.source.queue)
            self._stop.wait(POLL_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
