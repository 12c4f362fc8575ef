"""The jobs table (``torchci-workflow-job``, which the CI dashboard owns and
reads): the names of the attributes the classifier reads and writes on a job's
item, its one write (a verdict with its ruleset digest) and its one scan (the
backfill's search for failed jobs without a current verdict).

The table has no index on conclusion or time, so that search is a filtered
``Scan`` of the whole table in parallel segments: it reads every item (read
capacity grows with the table), which is acceptable for an occasional
backfill and avoids requiring a new index on the production table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from logsorter.classifier.errors import UpstreamFailure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from logsorter.classifier.events import ClassifyRequest

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
COMPLETED_AT_ATTRIBUTE = "completed_at"
STARTED_AT_ATTRIBUTE = "started_at"
FAILED_CONCLUSION = "failure"


def verdict_attribute(temp_log: bool) -> str:
    return TEMP_VERDICT_ATTRIBUTE if temp_log else VERDICT_ATTRIBUTE


def write_verdict(
    dynamodb: DynamoDBClient,
    table: str,
    request: ClassifyRequest,
    verdict: dict[str, Any],
    digest: str,
) -> None:
    """Set the verdict and its digest together, leaving every other attribute
    of the item alone (the item is created if the job is not recorded yet)."""
    attribute = verdict_attribute(request.temp_log)
    try:
        dynamodb.update_item(
            TableName=table,
            Key={KEY_ATTRIBUTE: {"S": request.dynamo_key}},
            UpdateExpression="SET #verdict = :verdict, #digest = :digest",
            ExpressionAttributeNames={"#verdict": attribute, "#digest": attribute + DIGEST_SUFFIX},
            ExpressionAttributeValues={
                ":verdict": verdict_value(verdict),
                ":digest": {"S": digest},
            },
        )
    except (ClientError, BotoCoreError) as err:
        raise UpstreamFailure(
            f"DynamoDB UpdateItem {table} {request.dynamo_key} failed: {err}"
        ) from err


def verdict_value(verdict: dict[str, Any]) -> AttributeValueTypeDef:
    """The verdict as a DynamoDB map, typed the way the dashboard reads it."""
    return {
        "M": {
            "rule": {"S": verdict["rule"]},
            "line": {"S": verdict["line"]},
            "line_num": {"N": str(verdict["line_num"])},
            "captures": {"L": [{"S": c} for c in verdict["captures"]]},
            "context": {"L": [{"S": c} for c in verdict["context"]]},
        }
    }


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
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        Segment=segment,
        TotalSegments=segments,
        FilterExpression=(
            "#conclusion = :failure AND (attribute_not_exists(#verdict)"
            " OR attribute_not_exists(#digest) OR #digest <> :digest)"
        ),
        ProjectionExpression="#key, #completed, #started, #digest",
        ExpressionAttributeNames={
            "#key": KEY_ATTRIBUTE,
            "#conclusion": CONCLUSION_ATTRIBUTE,
            "#verdict": VERDICT_ATTRIBUTE,
            "#digest": DIGEST_ATTRIBUTE,
            "#completed": COMPLETED_AT_ATTRIBUTE,
            "#started": STARTED_AT_ATTRIBUTE,
        },
        ExpressionAttributeValues={":failure": {"S": FAILED_CONCLUSION}, ":digest": {"S": digest}},
    )
    try:
        for page in pages:
            for item in page.get("Items", []):
                yield FailedJobItem(
                    key=_string(item, KEY_ATTRIBUTE),
                    finished_at=(
                        _string(item, COMPLETED_AT_ATTRIBUTE) or _string(item, STARTED_AT_ATTRIBUTE)
                    ),
                    stale=bool(_string(item, DIGEST_ATTRIBUTE)),
                )
    except (ClientError, BotoCoreError) as err:
        raise UpstreamFailure(f"DynamoDB Scan {table} failed: {err}") from err


def _string(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, dict) and isinstance(value.get("S"), str):
        return str(value["S"])
    return ""
