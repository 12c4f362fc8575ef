"""Lambda events to classification requests.

Accepted: API Gateway HTTP API (payload 2.0) query parameters, a direct
invocation with the same fields as JSON, S3 ``ObjectCreated`` notifications
for log objects, and SQS batches whose bodies carry either of the last two.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from logsorter.classifier.config import DEFAULT_REPO, ClassifierConfig
from logsorter.classifier.errors import BadRequest
from logsorter.rulesets import DEFAULT_CONTEXT_DEPTH

EventKind = Literal["api", "direct", "s3", "sqs"]

#: GitHub's owner/name alphabet; anything else cannot name a log key safely.
REPO_PATTERN = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
INTEGER_PATTERN = re.compile(r"-?[0-9]+")
#: Deeper context than this is never useful and bloats the item.
MAX_CONTEXT_DEPTH = 1000
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class ClassifyRequest:
    job_id: int
    repo: str = DEFAULT_REPO
    temp_log: bool = False
    context_depth: int = DEFAULT_CONTEXT_DEPTH
    #: ``False`` classifies without touching DynamoDB.
    write: bool = True

    @property
    def dynamo_key(self) -> str:
        return f"{self.repo}/{self.job_id}"

    def to_direct_event(self) -> dict[str, Any]:
        """The direct-invocation event asking for this request."""
        return {
            "job_id": self.job_id,
            "repo": self.repo,
            "temp_log": self.temp_log,
            "context_depth": self.context_depth,
            "write": self.write,
        }


def event_kind(event: object) -> EventKind:
    if not isinstance(event, Mapping):
        raise BadRequest(f"the event must be a JSON object, not {type(event).__name__}")
    if "requestContext" in event and "routeKey" in event:
        return "api"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource")
        if source == "aws:sqs":
            return "sqs"
        if source == "aws:s3":
            return "s3"
    if "job_id" in event:
        return "direct"
    raise BadRequest(
        "unrecognised event: expected an API Gateway request, a direct invocation "
        "with job_id, an S3 notification or an SQS batch"
    )


def request_from_fields(fields: Mapping[str, Any]) -> ClassifyRequest:
    """A request from API query parameters (strings) or direct-invocation
    JSON (typed values)."""
    if fields.get("job_id") in (None, ""):
        raise BadRequest("job_id is required")
    repo = fields.get("repo") or DEFAULT_REPO
    if not isinstance(repo, str) or not REPO_PATTERN.fullmatch(repo) or ".." in repo:
        raise BadRequest(f"repo must look like owner/name, got {repo!r}")
    context_depth = _integer(fields, "context_depth", DEFAULT_CONTEXT_DEPTH)
    if not 0 <= context_depth <= MAX_CONTEXT_DEPTH:
        raise BadRequest(f"context_depth must be between 0 and {MAX_CONTEXT_DEPTH}")
    job_id = _integer(fields, "job_id", 0)
    if job_id <= 0:
        raise BadRequest("job_id must be a positive integer")
    return ClassifyRequest(
        job_id=job_id,
        repo=repo,
        temp_log=_boolean(fields, "temp_log", default=False),
        context_depth=context_depth,
        write=_boolean(fields, "write", default=True),
    )


def request_from_api(event: Mapping[str, Any]) -> ClassifyRequest:
    return request_from_fields(event.get("queryStringParameters") or {})


def request_from_s3_record(record: Mapping[str, Any], config: ClassifierConfig) -> ClassifyRequest:
    """The job a log object belongs to, from its bucket and key: ``log/{id}``
    (pytorch/pytorch) or ``log/{owner}/{name}/{id}`` in the log bucket,
    ``temp_logs/{id}`` in the temp-log bucket."""
    try:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
    except (KeyError, TypeError) as err:
        raise BadRequest("S3 record without s3.bucket.name and s3.object.key") from err
    parts = key.split("/")
    if bucket == config.temp_log_bucket and len(parts) == 2 and parts[0] == "temp_logs":
        return request_from_fields({"job_id": parts[1], "temp_log": True})
    if bucket == config.log_bucket and parts[0] == "log" and len(parts) in (2, 4):
        repo = "/".join(parts[1:3]) if len(parts) == 4 else DEFAULT_REPO
        return request_from_fields({"job_id": parts[-1], "repo": repo})
    raise BadRequest(f"s3://{bucket}/{key} is not a log object")


def requests_from_sqs_body(body: str, config: ClassifierConfig) -> Iterator[ClassifyRequest]:
    """The requests one SQS message carries: an S3 notification (any number of
    records, none for S3's test event) or one direct invocation."""
    try:
        message = json.loads(body)
    except ValueError as err:
        raise BadRequest(f"the message body is not JSON: {err}") from err
    if not isinstance(message, Mapping):
        raise BadRequest("the message body must be a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return
    kind = event_kind(message)
    if kind == "s3":
        for record in message["Records"]:
            yield request_from_s3_record(record, config)
    elif kind == "direct":
        yield request_from_fields(message)
    else:
        raise BadRequest(f"an SQS message cannot carry a {kind} event")


def without_writes(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of an API or direct event that classifies without writing."""
    kind = event_kind(event)
    if kind == "api":
        query = dict(event.get("queryStringParameters") or {})
        query["write"] = "false"
        return {**event, "queryStringParameters": query}
    if kind == "direct":
        return {**event, "write": False}
    raise BadRequest(f"writing cannot be turned off for a {kind} event")


def _integer(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = fields.get(name, default)
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and INTEGER_PATTERN.fullmatch(value.strip()):
        return int(value)
    raise BadRequest(f"{name} must be an integer, got {value!r}")


def _boolean(fields: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = fields.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE_WORDS | FALSE_WORDS:
        return value.lower() in TRUE_WORDS
    raise BadRequest(f"{name} must be true or false, got {value!r}")
