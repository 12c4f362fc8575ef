"""The collator as a Lambda function: the uploads an event names (and the
devices its rebuild messages name), one structured log line and metrics per
upload or device, and what Lambda expects back (partial-batch failures for
SQS, an exception for transient failures so that Lambda retries). The forget
function is the same app with a request of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logsorter import aws
from logsorter.collator.collate import Outcome, collate_upload
from logsorter.collator.config import CollatorConfig
from logsorter.collator.events import (
    BadRequest,
    RebuildRef,
    UploadRef,
    forget_request,
    is_sqs_batch,
    requests_in,
)
from logsorter.collator.forget import Scope, forget
from logsorter.collator.rebuild import rebuild_device
from logsorter.observability import Observability
from logsorter.storage import S3Store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Metric per outcome status.
_STATUS_METRICS = {
    "collated": "UploadsCollated",
    "already_collated": "UploadsAlreadyCollated",
    "rejected": "UploadsRejected",
    "forgotten": "UploadsForgotten",
}


class BadRequestForBucket(BadRequest):
    def __init__(self, bucket: str | None, buckets: list[str]) -> None:
        if bucket is None:
            super().__init__(
                f"forget request: name the bucket, one of {buckets}"
                if buckets
                else "forget request: name the bucket (LOGSORTER_UPLOAD_BUCKETS is not set)"
            )
        else:
            super().__init__(f"forget request: {bucket!r} is not an upload bucket")


@dataclass
class CollatorApp:
    """Per-container state: configuration, one S3 client, a store per
    bucket, logger and metrics."""

    config: CollatorConfig
    client: S3Client
    observability: Observability
    _stores: dict[str, S3Store] = field(default_factory=dict)

    @classmethod
    def from_env(cls, *, dead_letter: bool, service: str | None = None) -> CollatorApp:
        config = CollatorConfig.from_env(dead_letter=dead_letter)
        service = service or ("collator-dlq" if dead_letter else "collator")
        return cls(config, aws.s3_client(), Observability.for_service(service))

    def store(self, bucket: str) -> S3Store:
        if bucket not in self._stores:
            self._stores[bucket] = S3Store(self.client, bucket, kms_key_id=self.config.kms_key_id)
        return self._stores[bucket]

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        """SQS batches report failed messages (``batchItemFailures``); any
        other event raises on the first transient failure, after trying every
        upload it names."""
        with self.observability.invocation(context, dead_letter=self.config.dead_letter):
            if is_sqs_batch(event):
                return self._handle_sqs(event["Records"])
            return self._handle_direct(event)

    def _handle_sqs(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        failures = []
        for message in messages:
            try:
                for ref in requests_in(message.get("body"), self._ignored):
                    self.run(ref)
            except Exception:
                self.observability.logger.exception(
                    "message failed; SQS will deliver it again",
                    extra={"message_id": message.get("messageId")},
                )
                failures.append({"itemIdentifier": message.get("messageId")})
        return {"batchItemFailures": failures}

    def _handle_direct(self, event: Any) -> dict[str, Any]:
        results, errors = [], []
        for ref in requests_in(event, self._ignored):
            try:
                results.append(self.run(ref))
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]
        return {"results": results}

    def run(self, ref: UploadRef | RebuildRef) -> dict[str, Any]:
        """One upload or rebuild, as its entry in a direct invocation's results."""
        if isinstance(ref, RebuildRef):
            rebuilt = self.rebuild(ref)
            return {"rebuild": ref.device.path, "log_types": rebuilt}
        outcome = self.collate(ref)
        return {"key": ref.key, "status": outcome.status if outcome else "ignored"}

    def rebuild(self, ref: RebuildRef) -> list[str] | None:
        """``rebuild_device`` with a log line and metrics; the log types
        rebuilt, None for a bucket this function may not touch."""
        where = {"bucket": ref.bucket, "device": ref.device.path, "log_type": ref.log_type}
        if not self.config.accepts_bucket(ref.bucket):
            self._ignored(f"ignoring a rebuild in s3://{ref.bucket}: not an upload bucket")
            return None
        try:
            rebuilt = rebuild_device(
                self.store(ref.bucket),
                ref.device,
                only=ref.log_type,
                max_bytes=self.config.max_upload_bytes,
                dead_letter=self.config.dead_letter,
            )
        except Exception as err:
            self.observability.count("RebuildsFailed")
            self.observability.logger.exception(
                "rebuild failed", extra={**where, "error": f"{type(err).__name__}: {err}"}
            )
            raise
        for each in rebuilt:
            self.observability.logger.info(
                "rebuilt",
                extra={
                    **where,
                    "log_type": each.log_type,
                    "uploads": each.uploads,
                    "records": each.records,
                    "conflicts": each.conflicts,
                },
            )
        self.observability.count("DevicesRebuilt")
        return [each.log_type for each in rebuilt]

    def forget(self, event: Any, context: Any) -> dict[str, Any]:
        """Erase a user or device (``forget.py``); a bad request raises
        ``BadRequest`` with its reason."""
        with self.observability.invocation(context):
            request = forget_request(event)
            buckets = sorted(self.config.upload_buckets or ())
            bucket = request.bucket or (buckets[0] if len(buckets) == 1 else None)
            if bucket is None or not self.config.accepts_bucket(bucket):
                raise BadRequestForBucket(bucket, buckets)
            scope = Scope(request.user_id, request.device_id)
            erasure = forget(
                self.store(bucket), scope, uploads=request.uploads, dry_run=request.dry_run
            )
            counts = erasure.counts()
            self.observability.logger.info(
                "forgotten" if not request.dry_run else "forget dry run",
                extra={"bucket": bucket, "scope": scope.describe(), "deleted": counts},
            )
            self.observability.count(
                "ObjectsErased",
                0 if request.dry_run else sum(c["objects"] for c in counts.values()),
            )
            return {"bucket": bucket, **erasure.to_json()}

    def collate(self, ref: UploadRef) -> Outcome | None:
        """``collate_upload`` with a log line and metrics for every outcome;
        None for a bucket this function may not touch."""
        where = {"bucket": ref.bucket, "key": ref.key}
        if not self.config.accepts_bucket(ref.bucket):
            self._ignored(f"ignoring s3://{ref.bucket}/{ref.key:.200}: not an upload bucket")
            return None
        try:
            outcome = collate_upload(
                self.store(ref.bucket),
                ref.key,
                max_bytes=self.config.max_upload_bytes,
                dead_letter=self.config.dead_letter,
            )
        except Exception as err:
            self.observability.count("UploadsFailed")
            self.observability.logger.exception(
                "upload failed", extra={**where, "error": f"{type(err).__name__}: {err}"}
            )
            raise
        self.record(outcome, where)
        return outcome

    def record(self, outcome: Outcome, where: dict[str, str]) -> None:
        self.observability.logger.info(
            outcome.status,
            extra={
                **where,
                "log_type": outcome.log_type,
                "records": outcome.records,
                "added": outcome.added,
                "skipped_lines": outcome.skipped_lines,
                "conflicts": outcome.conflicts,
                "upload_bytes": outcome.upload_bytes,
                "report_key": outcome.report_key,
            },
        )
        metrics = self.observability
        metrics.count(_STATUS_METRICS[outcome.status])
        metrics.count("RecordsAdded", outcome.added)
        metrics.count("SkippedLines", outcome.skipped_lines)
        metrics.count("CommitConflicts", outcome.conflicts)
        metrics.bytes("UploadBytes", outcome.upload_bytes)

    def _ignored(self, reason: str) -> None:
        self.observability.logger.warning(reason)
        self.observability.count("EventsIgnored")
