"""Find failed jobs whose verdict is missing or was made by another ruleset,
then classify them here or queue them for the deployed function.

"Most recent" is decided from the item's ``completed_at`` (``started_at`` when
the job has not completed); how the jobs table is searched is told in
``jobs_table``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from logsorter.classifier.errors import BadRequest, UpstreamFailure
from logsorter.classifier.events import ClassifyRequest, request_from_fields
from logsorter.classifier.jobs_table import (
    FailedJobItem,
    scan_failed_without_verdict,
    scan_in_segments,
)
from logsorter.queues import QueueRefused, send_messages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from logsorter.classifier.classify import JobVerdict

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

    def scan(segment: int) -> list[Candidate]:
        items = scan_failed_without_verdict(dynamodb, table, digest, segment, segments)
        return [c for c in map(_candidate, items) if c is not None]

    candidates = scan_in_segments(scan, segments)
    candidates.sort(key=lambda c: c.finished_at, reverse=True)
    return candidates[:limit]


def _candidate(item: FailedJobItem) -> Candidate | None:
    """The job an item describes, or ``None`` for a key that names no job
    (``{repo}/{job_id}`` with a numeric id)."""
    repo, _, job_id = item.key.rpartition("/")
    try:
        request = request_from_fields({"repo": repo, "job_id": job_id})
    except BadRequest:
        return None
    return Candidate(request, item.finished_at, "stale" if item.stale else "unclassified")


def classify_jobs(
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
    try:
        yield from send_messages(sqs, queue_url, (r.to_direct_event() for r in requests))
    except QueueRefused as err:
        raise UpstreamFailure(str(err)) from err
