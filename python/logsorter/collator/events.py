"""Lambda events to the uploads they name. The collator is reached by S3
notifications and S3's EventBridge ``Object Created`` events, directly or
through SQS or SNS, and (the dead-letter collator) as Lambda on-failure
destination records wrapping any of those.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

#: Told why part of an event was skipped, in one line.
OnIgnored = Callable[[str], None]


@dataclass(frozen=True)
class UploadRef:
    bucket: str
    key: str


def uploads_in(event: Any, on_ignored: OnIgnored) -> Iterator[UploadRef]:
    """Every S3 object named in an event, unwrapping Lambda on-failure
    destination records (``requestPayload``), SQS messages and SNS
    notifications (direct or delivered through SQS) down to S3 notifications
    or EventBridge events. Keys are URL-decoded as S3 encodes them."""
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError:
            on_ignored(f"ignoring a message that is not JSON: {event:.200}")
            return
    if not isinstance(event, dict):
        on_ignored(f"ignoring an event that is not an object: {event!r:.200}")
        return
    if "requestPayload" in event:
        yield from uploads_in(event["requestPayload"], on_ignored)
    elif isinstance(event.get("Records"), list):
        for record in event["Records"]:
            yield from _uploads_in_record(record, on_ignored)
    elif event.get("Type") == "Notification" and "Message" in event:
        yield from uploads_in(event["Message"], on_ignored)
    elif event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        yield from _upload_named(event.get("detail"), event, on_ignored)
    elif event.get("Event") == "s3:TestEvent":
        return
    else:
        on_ignored(f"ignoring an event of unknown shape: {event!r:.200}")


def _uploads_in_record(record: Any, on_ignored: OnIgnored) -> Iterator[UploadRef]:
    if not isinstance(record, dict):
        on_ignored(f"ignoring a record that is not an object: {record!r:.200}")
        return
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:s3":
        yield from _upload_named(record.get("s3"), record, on_ignored)
    elif source == "aws:sqs":
        yield from uploads_in(record.get("body"), on_ignored)
    elif source == "aws:sns":
        yield from uploads_in(_field(record, "Sns", "Message"), on_ignored)
    else:
        on_ignored(f"ignoring a record from {source!r:.100}")


def _upload_named(fields: Any, event: Any, on_ignored: OnIgnored) -> Iterator[UploadRef]:
    """The object of an S3 record's ``s3`` or an EventBridge event's
    ``detail``: both name it as ``bucket.name`` and ``object.key``."""
    bucket = _field(fields, "bucket", "name")
    key = _field(fields, "object", "key")
    if isinstance(bucket, str) and isinstance(key, str) and bucket and key:
        yield UploadRef(bucket, unquote_plus(key))
    else:
        on_ignored(f"ignoring an S3 event without a bucket name and key: {event!r:.200}")


def _field(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None where the shape is not that."""
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def is_sqs_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    )
