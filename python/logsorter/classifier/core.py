"""Classify one job's log: download from S3, classify, write the verdict onto
the job's DynamoDB item. Clients come in as arguments, so the Lambda handler,
the backfill and the tests share this code unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ResponseStreamingError

from logsorter.classifier.config import (
    DIGEST_SUFFIX,
    TEMP_VERDICT_ATTRIBUTE,
    VERDICT_ATTRIBUTE,
    ClassifierClients,
    ClassifierConfig,
)
from logsorter.classifier.errors import LogNotFound, UnreadableLog, UpstreamFailure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from logsorter import RuleSet
    from logsorter.classifier.events import ClassifyRequest

#: S3 error codes meaning the log is not there (404 without a body on HEAD).
MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
#: The client retries a failed request; a body cut off mid-stream is retried here.
DOWNLOAD_ATTEMPTS = 3


@dataclass(frozen=True)
class JobVerdict:
    request: ClassifyRequest
    #: ``Match.to_dict()``, or ``None`` when no rule matched.
    match: dict[str, Any] | None
    log_bytes: int
    download_seconds: float
    classify_seconds: float
    #: ``0.0`` when nothing was written (no match, or a dry run).
    write_seconds: float
    written: bool


def log_location(request: ClassifyRequest, config: ClassifierConfig) -> tuple[str, str]:
    """``(bucket, key)`` of the job's log."""
    if request.temp_log:
        return config.temp_log_bucket, f"temp_logs/{request.job_id}"
    if request.repo == "pytorch/pytorch":
        return config.log_bucket, f"log/{request.job_id}"
    return config.log_bucket, f"log/{request.repo}/{request.job_id}"


def verdict_attribute(request: ClassifyRequest) -> str:
    return TEMP_VERDICT_ATTRIBUTE if request.temp_log else VERDICT_ATTRIBUTE


def classify_job(
    request: ClassifyRequest,
    *,
    clients: ClassifierClients,
    ruleset: RuleSet,
    config: ClassifierConfig,
) -> JobVerdict:
    """Classify the job's log and, if a rule matched and ``request.write``,
    record the verdict and the ruleset digest in one ``UpdateItem``.

    Raises ``LogNotFound``, ``UnreadableLog`` or ``UpstreamFailure``; nothing
    is written in any of those cases.
    """
    bucket, key = log_location(request, config)
    started = time.perf_counter()
    data = download(clients, bucket, key)
    downloaded = time.perf_counter()
    try:
        match = ruleset.classify(data, request.context_depth)
    except ValueError as err:
        raise UnreadableLog(f"s3://{bucket}/{key} is not a readable log: {err}") from err
    classified = time.perf_counter()
    verdict = match.to_dict() if match is not None else None
    written = False
    if verdict is not None and request.write:
        write_verdict(clients, config.jobs_table, request, verdict, ruleset.digest)
        written = True
    return JobVerdict(
        request=request,
        match=verdict,
        log_bytes=len(data),
        download_seconds=downloaded - started,
        classify_seconds=classified - downloaded,
        write_seconds=time.perf_counter() - classified if written else 0.0,
        written=written,
    )


def download(clients: ClassifierClients, bucket: str, key: str) -> bytes:
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            return clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in MISSING_OBJECT_CODES:
                raise LogNotFound(f"no log at s3://{bucket}/{key}") from err
            raise UpstreamFailure(f"S3 GetObject s3://{bucket}/{key} failed: {err}") from err
        except ResponseStreamingError as err:
            if attempt == DOWNLOAD_ATTEMPTS:
                raise UpstreamFailure(f"reading s3://{bucket}/{key} failed: {err}") from err
        except BotoCoreError as err:
            raise UpstreamFailure(f"S3 GetObject s3://{bucket}/{key} failed: {err}") from err
    raise AssertionError("unreachable: the last attempt returns or raises")


def write_verdict(
    clients: ClassifierClients,
    table: str,
    request: ClassifyRequest,
    verdict: dict[str, Any],
    digest: str,
) -> None:
    """Set the verdict and its digest together, leaving every other attribute
    of the item alone (the item is created if the job is not recorded yet)."""
    attribute = verdict_attribute(request)
    try:
        clients.dynamodb.update_item(
            TableName=table,
            Key={"dynamoKey": {"S": request.dynamo_key}},
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
