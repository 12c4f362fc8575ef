"""The collator as a Lambda function: the uploads an event names, one
structured log line and metrics per upload, and what Lambda expects back
(partial-batch failures for SQS, an exception for transient failures so that
Lambda retries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logsorter import aws
from logsorter.collator.collate import Outcome, collate_upload
from logsorter.collator.config import CollatorConfig
from logsorter.collator.events import UploadRef, is_sqs_batch, uploads_in
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


@dataclass
class CollatorApp:
    """Per-container state: configuration, one S3 client, a store per
    bucket, logger and metrics."""

    config: CollatorConfig
    client: S3Client
    observability: Observability
    _stores: dict[str, S3Store] = field(default_factory=dict)

    @classmethod
    def from_env(cls, *, dead_letter: bool) -> CollatorApp:
        config = CollatorConfig.from_env(dead_letter=dead_letter)
        service = "collator-dlq" if dead_letter else "collator"
        return cls(config, aws.s3_client(), Observability.for_service(service))

    def store(self, bucket: str) -> S3Store:
        if bucket not in self._stores:
            self._stores[bucket] = S3Store(
                self.client, bucket, kms_key_id=self.config.kms_key_id
            )
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
                for ref in uploads_in(message.get("body"), self._ignored):
                    self.collate(ref)
            except Exception:
                self.observability.logger.exception(
                    "message failed; SQS will deliver it again",
                    extra={"message_id": message.get("messageId")},
                )
                failures.append({"itemIdentifier": message.get("messageId")})
        return {"batchItemFailures": failures}

    def _handle_direct(self, event: Any) -> dict[str, Any]:
        results, errors = [], []
        for ref in uploads_in(event, self._ignored):
            try:
                outcome = self.collate(ref)
            except Exception as err:
                errors.append(err)
                continue
            results.append({"key": ref.key, "status": outcome.status if outcome else "ignored"})
        if errors:
            raise errors[0]
        return {"results": results}

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
