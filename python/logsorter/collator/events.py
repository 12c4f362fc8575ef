"""Lambda events to the work they ask for. The collator is reached by S3
notifications and S3's EventBridge ``Object Created`` events, directly or
through SQS or SNS, and (the dead-letter collator) as Lambda on-failure
destination records wrapping any of those; and by ``{"rebuild": {...}}``
messages (``logsorter rebuild --queue``), one device each. The forget
function takes ``{"user_id": ..., "device_id": ...}``.

What people and scripts write (rebuild and forget requests) is parsed
strictly: an unknown field, a missing one or an id outside the upload keys'
alphabet is refused with a one-line reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from logsorter.collator.keys import Device, is_id, is_log_type_name

#: Told why part of an event was skipped, in one line.
OnIgnored = Callable[[str], None]


class BadRequest(ValueError):
    """A rebuild or forget request that is not one: its reason, one line."""


@dataclass(frozen=True)
class UploadRef:
    bucket: str
    key: str


@dataclass(frozen=True)
class RebuildRef:
    """Rebuild one device's collated data (one log type, or every one)."""

    bucket: str
    device: Device
    log_type: str | None = None

    def to_message(self) -> dict[str, dict[str, str]]:
        body = {
            "bucket": self.bucket,
            "user_id": self.device.user_id,
            "device_id": self.device.device_id,
        }
        return {"rebuild": body | ({"log_type": self.log_type} if self.log_type else {})}


@dataclass(frozen=True)
class ForgetRequest:
    user_id: str
    device_id: str | None = None
    #: Erase the raw uploads too.
    uploads: bool = False
    dry_run: bool = False
    #: The bucket, when the function may touch more than one.
    bucket: str | None = None


def _fields(
    body: Any, what: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"{what}: must be a JSON object, got {type(body).__name__}")
    unknown = sorted(str(name) for name in body if name not in required + optional)
    if unknown:
        raise BadRequest(f"{what}: unknown field {unknown[0]!r:.100}")
    missing = [name for name in required if name not in body]
    if missing:
        raise BadRequest(f"{what}: missing field {missing[0]!r}")
    return body


def _id(body: dict[str, Any], name: str, what: str) -> str:
    value = body[name]
    if not is_id(value):
        raise BadRequest(f"{what}: {name} {value!r:.100} is not 1-128 of [A-Za-z0-9_-]")
    return str(value)


def _bucket(body: dict[str, Any], what: str) -> str:
    value = body["bucket"]
    if not isinstance(value, str) or not 3 <= len(value) <= 63 or "/" in value:
        raise BadRequest(f"{what}: bucket {value!r:.100} is not a bucket name")
    return value


def rebuild_request(body: Any) -> RebuildRef:
    """``{"bucket", "user_id", "device_id", "log_type"?}``, the value of a
    ``rebuild`` message."""
    what = "rebuild request"
    body = _fields(body, what, ("bucket", "user_id", "device_id"), ("log_type",))
    log_type = body.get("log_type")
    if log_type is not None and not is_log_type_name(log_type):
        raise BadRequest(f"{what}: log_type {log_type!r:.100} is not 1-64 of [a-z0-9_]")
    device = Device(_id(body, "user_id", what), _id(body, "device_id", what))
    return RebuildRef(_bucket(body, what), device, log_type)


def forget_request(event: Any) -> ForgetRequest:
    """``{"user_id", "device_id"?, "uploads"?, "dry_run"?, "bucket"?}``."""
    what = "forget request"
    body = _fields(event, what, ("user_id",), ("device_id", "uploads", "dry_run", "bucket"))
    for flag in ("uploads", "dry_run"):
        if not isinstance(body.get(flag, False), bool):
            raise BadRequest(f"{what}: {flag} must be true or false")
    device = None if body.get("device_id") is None else _id(body, "device_id", what)
    return ForgetRequest(
        _id(body, "user_id", what),
        device,
        uploads=body.get("uploads", False),
        dry_run=body.get("dry_run", False),
        bucket=None if body.get("bucket") is None else _bucket(body, what),
    )


def requests_in(event: Any, on_ignored: OnIgnored) -> Iterator[UploadRef | RebuildRef]:
    """Every S3 object named in an event, and every rebuild request,
    unwrapping Lambda on-failure destination records (``requestPayload``),
    SQS messages and SNS notifications (direct or delivered through SQS)
    down to S3 notifications, EventBridge events or rebuild messages. Keys
    are URL-decoded as S3 encodes them."""
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError:
            on_ignored(f"ignoring a message that is not JSON: {event:.200}")
            return
    if not isinstance(event, dict):
        on_ignored(f"ignoring an event that is not an object: {event!r:.200}")
        return
    if "rebuild" in event:
        try:
            if len(event) != 1:
                raise BadRequest("rebuild message: nothing may stand beside rebuild")
            yield rebuild_request(event["rebuild"])
        except BadRequest as err:
            on_ignored(f"ignoring a {err}")
    elif "requestPayload" in event:
        yield from requests_in(event["requestPayload"], on_ignored)
    elif isinstance(event.get("Records"), list):
        for record in event["Records"]:
            yield from _uploads_in_record(record, on_ignored)
    elif event.get("Type") == "Notification" and "Message" in event:
        yield from requests_in(event["Message"], on_ignored)
    elif event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        yield from _upload_named(event.get("detail"), event, on_ignored)
    elif event.get("Event") == "s3:TestEvent":
        return
    else:
        on_ignored(f"ignoring an event of unknown shape: {event!r:.200}")


def _uploads_in_record(record: Any, on_ignored: OnIgnored) -> Iterator[UploadRef | RebuildRef]:
    if not isinstance(record, dict):
        on_ignored(f"ignoring a record that is not an object: {record!r:.200}")
        return
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:s3":
        yield from _upload_named(record.get("s3"), record, on_ignored)
    elif source == "aws:sqs":
        yield from requests_in(record.get("body"), on_ignored)
    elif source == "aws:sns":
        yield from requests_in(_field(record, "Sns", "Message"), on_ignored)
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
