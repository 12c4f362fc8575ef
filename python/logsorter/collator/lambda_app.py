"""The collator's Lambda side: finding the uploads in whatever event arrives,
and turning outcomes into what Lambda expects (partial-batch failures for SQS,
an exception for transient failures so that Lambda retries).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from logsorter.collator.core import Outcome, collate_upload
from logsorter.storage import S3Store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

MAX_UPLOAD_ENV = "LOGSORTER_MAX_UPLOAD_MB"


def upload_limit(*, dead_letter: bool) -> int | None:
    """The upload size limit in bytes from ``LOGSORTER_MAX_UPLOAD_MB``; none
    for the dead-letter collator, which takes what the primary could not."""
    limit = os.environ.get(MAX_UPLOAD_ENV)
    return None if dead_letter or not limit else int(float(limit) * 1024 * 1024)


@dataclass(frozen=True)
class UploadRef:
    bucket: str
    key: str


def uploads_in(event: Any) -> Iterator[UploadRef]:
    """Every S3 object named in an event, unwrapping Lambda on-failure
    destination records (``requestPayload``), SQS messages and SNS
    notifications (direct or delivered through SQS) down to S3 notifications.
    Keys are URL-decoded as S3 encodes them in notifications."""
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError:
            log.error("ignoring a message that is not JSON: %.200r", event)
            return
    if not isinstance(event, dict):
        log.error("ignoring an event that is not an object: %.200r", event)
        return
    if "requestPayload" in event:
        yield from uploads_in(event["requestPayload"])
    elif isinstance(event.get("Records"), list):
        for record in event["Records"]:
            yield from _uploads_in_record(record)
    elif event.get("Type") == "Notification" and "Message" in event:
        yield from uploads_in(event["Message"])
    elif event.get("Event") == "s3:TestEvent":
        return
    else:
        log.error("ignoring an event of unknown shape: %.200r", event)


def _uploads_in_record(record: Any) -> Iterator[UploadRef]:
    if not isinstance(record, dict):
        log.error("ignoring a record that is not an object: %.200r", record)
        return
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:s3":
        s3 = record["s3"]
        yield UploadRef(s3["bucket"]["name"], unquote_plus(s3["object"]["key"]))
    elif source == "aws:sqs":
        yield from uploads_in(record["body"])
    elif source == "aws:sns":
        yield from uploads_in(record["Sns"]["Message"])
    else:
        log.error("ignoring a record from %r", source)


@dataclass
class CollatorApp:
    """Per-container state: one S3 client, a store per bucket."""

    client: S3Client
    max_bytes: int | None
    _stores: dict[str, S3Store] = field(default_factory=dict)

    @classmethod
    def from_env(cls, *, dead_letter: bool) -> CollatorApp:
        import boto3

        return cls(boto3.client("s3"), upload_limit(dead_letter=dead_letter))

    def store(self, bucket: str) -> S3Store:
        if bucket not in self._stores:
            self._stores[bucket] = S3Store(self.client, bucket)
        return self._stores[bucket]

    def collate(self, ref: UploadRef) -> Outcome:
        outcome = collate_upload(self.store(ref.bucket), ref.key, max_bytes=self.max_bytes)
        log.info(
            "%s s3://%s/%s: %d records, %d added, %d lines skipped",
            outcome.status,
            ref.bucket,
            ref.key,
            outcome.records,
            outcome.added,
            outcome.skipped_lines,
        )
        return outcome

    def handle(self, event: Any) -> dict[str, Any]:
        """SQS batches report failed messages (``batchItemFailures``); any
        other event raises on the first transient failure, after trying every
        upload it names."""
        records = event.get("Records") if isinstance(event, dict) else None
        if records and all(
            isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records
        ):
            failures = []
            for record in records:
                try:
                    for ref in uploads_in(record["body"]):
                        self.collate(ref)
                except Exception:
                    log.exception("message %s failed; SQS will retry it", record["messageId"])
                    failures.append({"itemIdentifier": record["messageId"]})
            return {"batchItemFailures": failures}
        results, errors = [], []
        for ref in uploads_in(event):
            try:
                outcome = self.collate(ref)
            except Exception as err:
                log.exception("s3://%s/%s failed", ref.bucket, ref.key)
                errors.append(err)
                continue
            results.append({"key": ref.key, "status": outcome.status})
        if errors:
            raise errors[0]
        return {"results": results}
