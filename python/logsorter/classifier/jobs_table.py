"""The jobs table (``torchci-workflow-job``, which the CI dashboard owns and
reads): the names of the attributes the classifier reads and writes on a job's
item, its one write (a verdict with its ruleset digest, cut to fit the item)
and its scans (the backfill's search for failed jobs without a current
verdict; ``logsorter corpus pull``'s for jobs by conclusion and time).

The table has no index on conclusion or time, so a search is a filtered
``Scan`` of the whole table in parallel segments: it reads every item (read
capacity grows with the table), which is acceptable for an occasional
backfill and avoids requiring a new index on the production table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from logsorter.classifier.errors import JobNotInTable, RejectedWrite, UpstreamFailure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, UpdateItemInputTypeDef

    from logsorter.classifier.events import ClassifyRequest

T = TypeVar("T")

#: The item's key, ``{repo}/{job_id}``.
KEY_ATTRIBUTE = "dynamoKey"
#: Verdict attributes on the job item; temp logs get their own so that a
#: verdict on a partial log never hides the final one.
VERDICT_ATTRIBUTE = "torchci_classification"
TEMP_VERDICT_ATTRIBUTE = "torchci_classification_temp"
#: Suffix of the attribute recording the ruleset digest beside a verdict.
DIGEST_SUFFIX = "_digest"
#: The ruleset digest recorded beside the (final log's) verdict.
DIGEST_ATTRIBUTE = VERDICT_ATTRIBUTE + DIGEST_SUFFIX
#: Written by the CI pipeline: the job's outcome and its times, ISO-8601
#: strings that sort as text.
CONCLUSION_ATTRIBUTE = "conclusion"
#: The job's name, as the CI pipeline records it.
NAME_ATTRIBUTE = "name"
COMPLETED_AT_ATTRIBUTE = "completed_at"
STARTED_AT_ATTRIBUTE = "started_at"
FAILED_CONCLUSION = "failure"

#: What a verdict stores at most, in UTF-8 bytes: about 66 KB in all, so an
#: item with both verdicts (final and temp log) stays far below DynamoDB's
#: 400 KB item limit and leaves room for the CI pipeline's attributes.
MAX_LINE_BYTES = 16 * 1024
MAX_CAPTURE_BYTES = 4 * 1024
MAX_CAPTURES_BYTES = 16 * 1024
MAX_CONTEXT_LINE_BYTES = 4 * 1024
MAX_CONTEXT_BYTES = 32 * 1024
#: Ends a cut value; the number is how many bytes were cut.
TRUNCATION_MARKER = "…[truncated {} bytes]"
#: Stands for the entries of a list past its total limit.
DROPPED_ENTRIES_MARKER = "…[truncated {} entries, {} bytes]"
#: Room kept for the marker: it never needs more.
MARKER_RESERVE_BYTES = 48


def verdict_attribute(temp_log: bool) -> str:
    return TEMP_VERDICT_ATTRIBUTE if temp_log else VERDICT_ATTRIBUTE


def write_verdict(
    dynamodb: DynamoDBClient,
    table: str,
    request: ClassifyRequest,
    verdict: dict[str, Any],
    digest: str,
    *,
    create_missing: bool = False,
) -> None:
    """Set the verdict and its digest together, leaving every other attribute
    of the item alone. Only onto an item the table has, unless
    ``create_missing``: a job the CI pipeline never recorded gets no item.

    Raises ``JobNotInTable``, ``RejectedWrite`` (DynamoDB refuses this write
    whenever it is sent) or ``UpstreamFailure``."""
    attribute = verdict_attribute(request.temp_log)
    names = {"#verdict": attribute, "#digest": attribute + DIGEST_SUFFIX}
    update: UpdateItemInputTypeDef = {
        "TableName": table,
        "Key": {KEY_ATTRIBUTE: {"S": request.dynamo_key}},
        "UpdateExpression": "SET #verdict = :verdict, #digest = :digest",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {
            ":verdict": verdict_value(verdict),
            ":digest": {"S": digest},
        },
    }
    if not create_missing:
        update["ConditionExpression"] = "attribute_exists(#key)"
        names["#key"] = KEY_ATTRIBUTE
    try:
        dynamodb.update_item(**update)
    except (ClientError, BotoCoreError) as err:
        failure = f"DynamoDB UpdateItem {table} {request.dynamo_key} failed: {err}"
        code = err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else None
        if code == "ConditionalCheckFailedException":
            raise JobNotInTable(f"job {request.dynamo_key} is not in the table {table}") from err
        if code == "ValidationException":
            raise RejectedWrite(failure) from err
        raise UpstreamFailure(failure) from err


def verdict_value(verdict: dict[str, Any]) -> AttributeValueTypeDef:
    """The verdict as a DynamoDB map, typed the way the dashboard reads it."""
    return {
        "M": {
            "rule": {"S": verdict["rule"]},
            "line": {"S": verdict["line"]},
            "line_num": {"N": str(verdict["line_num"])},
            "captures": {"L": [{"S": c} for c in verdict["captures"]]},
            "context": {"L": [{"S": c} for c in verdict["context"]]},
            "score": {"N": repr(float(verdict["score"]))},
        }
    }


def fit_verdict(verdict: dict[str, Any]) -> dict[str, Any]:
    """``Match.to_dict()`` with ``line``, ``captures`` and ``context`` cut to
    the limits above, each cut marked, so that its item always fits."""
    return {
        **verdict,
        "line": truncated(verdict["line"], MAX_LINE_BYTES),
        "captures": truncated_list(verdict["captures"], MAX_CAPTURE_BYTES, MAX_CAPTURES_BYTES),
        "context": truncated_list(verdict["context"], MAX_CONTEXT_LINE_BYTES, MAX_CONTEXT_BYTES),
    }


def truncated(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes, its end replaced by a
    marker saying how many bytes were cut when it does not fit."""
    data = text.encode()
    if len(data) <= limit:
        return text
    # Cut on a character boundary: a partial character is dropped.
    kept = data[: max(0, limit - MARKER_RESERVE_BYTES)].decode("utf-8", "ignore")
    return kept + TRUNCATION_MARKER.format(len(data) - len(kept.encode()))


def truncated_list(values: list[str], each_limit: int, total_limit: int) -> list[str]:
    """Each value cut to ``each_limit`` bytes; the values past
    ``total_limit`` bytes in all are replaced by one marker entry."""
    kept: list[str] = []
    budget = total_limit
    for index, value in enumerate(values):
        cut = truncated(value, each_limit)
        size = len(cut.encode())
        if size > budget:
            dropped = values[index:]
            dropped_bytes = sum(len(v.encode()) for v in dropped)
            kept.append(DROPPED_ENTRIES_MARKER.format(len(dropped), dropped_bytes))
            break
        kept.append(cut)
        budget -= size
    return kept


@dataclass(frozen=True)
class FailedJobItem:
    """A failed job's item without a verdict from the current ruleset."""

    key: str
    #: ``completed_at``, else ``started_at``, else empty.
    finished_at: str
    #: Whether a verdict from another ruleset is recorded (else none is).
    stale: bool


def scan_failed_without_verdict(
    dynamodb: DynamoDBClient, table: str, digest: str, segment: int, segments: int
) -> Iterator[FailedJobItem]:
    """One segment of the scan for failed jobs whose item has no verdict, or
    one recorded with another digest than ``digest``."""
    items = _scan(
        dynamodb,
        table,
        segment,
        segments,
        filter_expression=(
            "#conclusion = :failure AND (attribute_not_exists(#verdict)"
            " OR attribute_not_exists(#digest) OR #digest <> :digest)"
        ),
        projection="#key, #completed, #started, #digest",
        names={
            "#conclusion": CONCLUSION_ATTRIBUTE,
            "#verdict": VERDICT_ATTRIBUTE,
            "#digest": DIGEST_ATTRIBUTE,
        },
        values={":failure": {"S": FAILED_CONCLUSION}, ":digest": {"S": digest}},
    )
    for item in items:
        yield FailedJobItem(
            key=_string(item, KEY_ATTRIBUTE),
            finished_at=_finished_at(item),
            stale=bool(_string(item, DIGEST_ATTRIBUTE)),
        )


@dataclass(frozen=True)
class JobItem:
    """A job as the jobs table records it."""

    key: str
    name: str
    conclusion: str
    #: ``completed_at``, else ``started_at``, else empty.
    finished_at: str


def scan_jobs(
    dynamodb: DynamoDBClient,
    table: str,
    segment: int,
    segments: int,
    *,
    conclusion: str | None,
    finished_since: str | None,
) -> Iterator[JobItem]:
    """One segment of the scan for jobs with ``conclusion`` (any, if
    ``None``) that completed (or started, when not completed) at or after
    ``finished_since`` (ISO-8601; any time if ``None``)."""
    conditions: list[str] = []
    names: dict[str, str] = {"#name": NAME_ATTRIBUTE, "#conclusion": CONCLUSION_ATTRIBUTE}
    values: dict[str, AttributeValueTypeDef] = {}
    if conclusion is not None:
        conditions.append("#conclusion = :conclusion")
        values[":conclusion"] = {"S": conclusion}
    if finished_since is not None:
        conditions.append(
            "(#completed >= :since OR (attribute_not_exists(#completed) AND #started >= :since))"
        )
        values[":since"] = {"S": finished_since}
    items = _scan(
        dynamodb,
        table,
        segment,
        segments,
        filter_expression=" AND ".join(conditions) or None,
        projection="#key, #name, #conclusion, #completed, #started",
        names=names,
        values=values,
    )
    for item in items:
        yield JobItem(
            key=_string(item, KEY_ATTRIBUTE),
            name=_string(item, NAME_ATTRIBUTE),
            conclusion=_string(item, CONCLUSION_ATTRIBUTE),
            finished_at=_finished_at(item),
        )


def scan_in_segments(scan: Callable[[int], list[T]], segments: int) -> list[T]:
    """What ``scan(segment)`` finds in each of ``segments`` parallel
    segments of a table, all together."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        return [found for part in pool.map(scan, range(segments)) for found in part]


def _scan(
    dynamodb: DynamoDBClient,
    table: str,
    segment: int,
    segments: int,
    *,
    filter_expression: str | None,
    projection: str,
    names: dict[str, str],
    values: dict[str, AttributeValueTypeDef],
) -> Iterator[dict[str, Any]]:
    """The items of one segment of a filtered scan; the key and both times
    are always named (``#key``, ``#completed``, ``#started``)."""
    arguments: dict[str, Any] = {
        "TableName": table,
        "Segment": segment,
        "TotalSegments": segments,
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": {
            "#key": KEY_ATTRIBUTE,
            "#completed": COMPLETED_AT_ATTRIBUTE,
            "#started": STARTED_AT_ATTRIBUTE,
            **names,
        },
    }
    if filter_expression:
        arguments["FilterExpression"] = filter_expression
    if values:
        arguments["ExpressionAttributeValues"] = values
    try:
        for page in dynamodb.get_paginator("scan").paginate(**arguments):
            yield from page.get("Items", [])
    except (ClientError, BotoCoreError) as err:
        raise UpstreamFailure(f"DynamoDB Scan {table} failed: {err}") from err


def _finished_at(item: Mapping[str, Any]) -> str:
    return _string(item, COMPLETED_AT_ATTRIBUTE) or _string(item, STARTED_AT_ATTRIBUTE)


def _string(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, dict) and isinstance(value.get("S"), str):
        return str(value["S"])
    return ""
