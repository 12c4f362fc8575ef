"""Sending work to a deployed function through SQS, ten messages to a call:
the classifier's backfill and the collator's rebuild fan-out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

#: SendMessageBatch takes at most ten entries.
SQS_BATCH_SIZE = 10


class QueueRefused(RuntimeError):
    """SQS failed, or refused some of the messages."""


def send_messages(sqs: SQSClient, queue_url: str, bodies: Iterable[Any]) -> Iterator[int]:
    """Send each body as a JSON message; yields how many each call sent."""
    batch: list[Any] = []
    for body in bodies:
        batch.append(body)
        if len(batch) == SQS_BATCH_SIZE:
            yield _send_batch(sqs, queue_url, batch)
            batch = []
    if batch:
        yield _send_batch(sqs, queue_url, batch)


def _send_batch(sqs: SQSClient, queue_url: str, batch: list[Any]) -> int:
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(batch)
    ]
    try:
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    except (ClientError, BotoCoreError) as err:
        raise QueueRefused(f"SQS SendMessageBatch to {queue_url} failed: {err}") from err
    failed = reply.get("Failed", [])
    if failed:
        reasons = "; ".join(f"{f['Id']}: {f.get('Message', f['Code'])}" for f in failed)
        raise QueueRefused(f"SQS refused {len(failed)} of {len(batch)} messages: {reasons}")
    return len(batch)
