"""Find failed jobs whose verdict is missing or was made by another ruleset,
then classify them here or queue them for the deployed function.

"Most recent" is decided from the item's ``completed_at`` (``started_at`` when
the job has not completed), ISO-8601 strings that sort as text. The table has
no index on conclusion or time, so candidates are found with a filtered
``Scan`` of the whole table, split into parallel segments: it reads every item
(read capacity grows with the table), which is acceptable for an occasional
backfill and avoids requiring a new index on the production table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from logsorter.classifier.config import DIGEST_SUFFIX, VERDICT_ATTRIBUTE
from logsorter.classifier.errors import BadRequest, UpstreamFailure
from logsorter.classifier.events import ClassifyRequest, request_from_fields

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

    from logsorter.classifier.core import JobVerdict

FAILED_CONCLUSION = "failure"
#: SendMessageBatch takes at most ten entries.
SQS_BATCH_SIZE = 10
#: The ruleset digest recorded beside the (final log's) verdict.
DIGEST_ATTRIBUTE = VERDICT_ATTRIBUTE + DIGEST_SUFFIX
Reason = Literal["unclassified", "stale"]


@dataclass(frozen=True)
class Candidate:
    request: ClassifyRequest
    #: ``completed_at``, else ``started_at``, else empty: the sort key.
    finished_at: str
    reason: Reason


def find_candidates(
    dynamodb: DynamoDBClient, table: str, digest: str, limit: int, segments: int = 4
) -> list[Candidate]:
    """The ``limit`` most recent failed jobs without a verdict from the
    ruleset with ``digest``, newest first."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        found = pool.map(
            lambda s: list(_scan_segment(dynamodb, table, digest, s, segments)), range(segments)
        )
        candidates = [c for segment in found for c in segment]
    candidates.sort(key=lambda c: c.finished_at, reverse=True)
    return candidates[:limit]


def _scan_segment(
    dynamodb: DynamoDBClient, table: str, digest: str, segment: int, segments: int
) -> Iterator[Candidate]:
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        Segment=segment,
        TotalSegments=segments,
        FilterExpression=(
            "#conclusion = :failure AND (attribute_not_exists(#verdict)"
            " OR attribute_not_exists(#digest) OR #digest <> :digest)"
        ),
        ProjectionExpression="dynamoKey, #completed, #started, #digest",
        ExpressionAttributeNames={
            "#conclusion": "conclusion",
            "#verdict": VERDICT_ATTRIBUTE,
            "#digest": DIGEST_ATTRIBUTE,
            "#completed": "completed_at",
            "#started": "started_at",
        },
        ExpressionAttributeValues={":failure": {"S": FAILED_CONCLUSION}, ":digest": {"S": digest}},
    )
    try:
        for page in pages:
            for item in page.get("Items", []):
                candidate = _candidate(item)
                if candidate is not None:
                    yield candidate
    except (ClientError, BotoCoreError) as err:
        raise UpstreamFailure(f"DynamoDB Scan {table} failed: {err}") from err


def _candidate(item: Mapping[str, Any]) -> Candidate | None:
    """The job an item describes, or ``None`` for a key that names no job
    (``{repo}/{job_id}`` with a numeric id)."""
    key = _string(item, "dynamoKey")
    repo, _, job_id = key.rpartition("/")
    try:
        request = request_from_fields({"repo": repo, "job_id": job_id})
    except BadRequest:
        return None
    finished_at = _string(item, "completed_at") or _string(item, "started_at")
    stale = bool(_string(item, DIGEST_ATTRIBUTE))
    return Candidate(request, finished_at, "stale" if stale else "unclassified")


def _string(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, dict) and isinstance(value.get("S"), str):
        return str(value["S"])
    return ""


def classify_all(
    requests: Iterable[ClassifyRequest],
    classify: Callable[[ClassifyRequest], JobVerdict],
    workers: int,
) -> Iterator[tuple[ClassifyRequest, JobVerdict | Exception]]:
    """Each request with its verdict or the error it ended in, in completion
    order. Threads suffice: the engine and the network release the GIL."""

    def attempt(request: ClassifyRequest) -> tuple[ClassifyRequest, JobVerdict | Exception]:
        try:
            return request, classify(request)
        except Exception as err:  # reported per job; one job never stops the rest
            return request, err

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(attempt, requests)


def enqueue(sqs: SQSClient, queue_url: str, requests: Iterable[ClassifyRequest]) -> Iterator[int]:
    """Send one direct-invocation message per request, ten to a call; yields
    how many each call sent. Raises ``UpstreamFailure`` if SQS refuses any."""
    batch: list[ClassifyRequest] = []
    for request in requests:
        batch.append(request)
        if len(batch) == SQS_BATCH_SIZE:
            yield _send_batch(sqs, queue_url, batch)
            batch = []
    if batch:
        yield _send_batch(sqs, queue_url, batch)


def _send_batch(sqs: SQSClient, queue_url: str, batch: list[ClassifyRequest]) -> int:
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": str(i), "MessageBody": json.dumps(r.to_direct_event())} for i, r in enumerate(batch)
    ]
    try:
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    except (ClientError, BotoCoreError) as err:
        raise UpstreamFailure(f"SQS SendMessageBatch to {queue_url} failed: {err}") from err
    failed = reply.get("Failed", [])
    if failed:
        reasons = "; ".join(f"{f['Id']}: {f.get('Message', f['Code'])}" for f in failed)
        raise UpstreamFailure(f"SQS refused {len(failed)} of {len(batch)} messages: {reasons}")
    return len(batch)
