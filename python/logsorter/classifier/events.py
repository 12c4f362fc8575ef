"""Lambda events to classification requests.

Accepted: API Gateway HTTP API (payload 2.0) query parameters, a direct
invocation with the same fields as JSON, S3 ``ObjectCreated`` notifications
and EventBridge ``Object Created`` events for log objects, and SQS batches
whose bodies carry any of the last three.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from logsorter.classifier.config import DEFAULT_REPO, ClassifierConfig, parse_boolean
from logsorter.classifier.errors import BadRequest
from logsorter.rulesets import DEFAULT_CONTEXT_DEPTH

EventKind = Literal["api", "direct", "s3", "object_created", "sqs"]

#: GitHub's owner/name alphabet, where no part starts with a dot (GitHub
#: allows none, and ``.``/``..`` would name another log key and item).
REPO_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*/[A-Za-z0-9_-][A-Za-z0-9_.-]*")
#: Job ids are far shorter; the bound keeps ``int()`` away from Python's
#: 4300-digit limit and every key short.
MAX_INTEGER_DIGITS = 20
INTEGER_PATTERN = re.compile(rf"-?[0-9]{{1,{MAX_INTEGER_DIGITS}}}")
MAX_JOB_ID = 10**MAX_INTEGER_DIGITS - 1
#: How much of a rejected value an error message quotes.
SHOWN_CHARS = 80
#: Deeper context than this is never useful and bloats the item.
MAX_CONTEXT_DEPTH = 1000


@dataclass(frozen=True)
class ClassifyRequest:
    job_id: int
    repo: str = DEFAULT_REPO
    temp_log: bool = False
    context_depth: int = DEFAULT_CONTEXT_DEPTH
    #: ``False`` classifies without touching DynamoDB.
    write: bool = True
    #: A passing run of the same job, whose log the failing one is read
    #: against (lines it also prints are not the cause).
    baseline_job_id: int | None = None

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
            **({} if self.baseline_job_id is None else {"baseline_job_id": self.baseline_job_id}),
        }


def event_kind(event: object) -> EventKind:
    if not isinstance(event, Mapping):
        raise BadRequest(f"the event must be a JSON object, not {type(event).__name__}")
    if "requestContext" in event and "routeKey" in event:
        return "api"
    if is_object_created(event):
        return "object_created"
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
        "with job_id, an S3 notification, an EventBridge Object Created event "
        "or an SQS batch"
    )


def is_object_created(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is S3's EventBridge ``Object Created`` event."""
    return event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created"


def request_from_fields(fields: object) -> ClassifyRequest:
    """A request from API query parameters (strings) or direct-invocation
    JSON (typed values)."""
    if not isinstance(fields, Mapping):
        raise BadRequest(f"the request must be a JSON object, not {type(fields).__name__}")
    if fields.get("job_id") in (None, ""):
        raise BadRequest("job_id is required")
    repo = fields.get("repo") or DEFAULT_REPO
    if not isinstance(repo, str) or not REPO_PATTERN.fullmatch(repo):
        raise BadRequest(f"repo must look like owner/name, got {_shown(repo)}")
    context_depth = _integer(fields, "context_depth", DEFAULT_CONTEXT_DEPTH)
    if not 0 <= context_depth <= MAX_CONTEXT_DEPTH:
        raise BadRequest(f"context_depth must be between 0 and {MAX_CONTEXT_DEPTH}")
    job_id = _job_id(fields, "job_id")
    baseline_job_id = (
        None if fields.get("baseline_job_id") in (None, "") else _job_id(fields, "baseline_job_id")
    )
    temp_log = _boolean(fields, "temp_log", default=False)
    if temp_log and repo != DEFAULT_REPO:
        # Temp logs are keyed by job id alone, so they can only be the
        # default repo's: for another repo the verdict would land on a job
        # whose log it is not.
        raise BadRequest(f"temp_log is only for {DEFAULT_REPO} jobs, not {repo}")
    return ClassifyRequest(
        job_id=job_id,
        repo=repo,
        temp_log=temp_log,
        context_depth=context_depth,
        write=_boolean(fields, "write", default=True),
        baseline_job_id=baseline_job_id,
    )


def _job_id(fields: Mapping[str, Any], name: str) -> int:
    job_id = _integer(fields, name, 0)
    if not 0 < job_id <= MAX_JOB_ID:
        raise BadRequest(
            f"{name} must be a positive integer of at most {MAX_INTEGER_DIGITS} digits"
        )
    return job_id


def request_from_api(event: Mapping[str, Any]) -> ClassifyRequest:
    return request_from_fields(event.get("queryStringParameters") or {})


def request_from_s3_record(record: object, config: ClassifierConfig) -> ClassifyRequest:
    """The job a log object belongs to, from its bucket and key: ``log/{id}``
    (pytorch/pytorch) or ``log/{owner}/{name}/{id}`` in the log bucket,
    ``temp_logs/{id}`` in the temp-log bucket."""
    bucket, key = s3_record_location(record)
    parts = key.split("/")
    if bucket == config.temp_log_bucket and len(parts) == 2 and parts[0] == "temp_logs":
        return request_from_fields({"job_id": parts[1], "temp_log": True})
    if bucket == config.log_bucket and parts[0] == "log" and len(parts) in (2, 4):
        repo = "/".join(parts[1:3]) if len(parts) == 4 else DEFAULT_REPO
        return request_from_fields({"job_id": parts[-1], "repo": repo})
    raise BadRequest(f"s3://{bucket}/{key} is not a log object")


def s3_record_location(record: object) -> tuple[str, str]:
    """The bucket and (decoded) key an S3 notification record or an
    EventBridge ``Object Created`` event names: the same fields, under ``s3``
    in one and ``detail`` in the other."""
    if not isinstance(record, Mapping):
        raise BadRequest("an S3 record must be a JSON object")
    s3 = record.get("detail" if is_object_created(record) else "s3")
    bucket = s3.get("bucket") if isinstance(s3, Mapping) else None
    obj = s3.get("object") if isinstance(s3, Mapping) else None
    name = bucket.get("name") if isinstance(bucket, Mapping) else None
    key = obj.get("key") if isinstance(obj, Mapping) else None
    if not isinstance(name, str) or not isinstance(key, str):
        raise BadRequest("S3 record without bucket.name and object.key strings")
    return name, unquote_plus(key)


def event_from_sqs_message(message: object) -> Mapping[str, Any] | None:
    """The event one SQS message's body carries, an S3 notification, an
    EventBridge ``Object Created`` event or a direct invocation; ``None`` for
    S3's test event, which asks for nothing."""
    body = message.get("body") if isinstance(message, Mapping) else None
    if not isinstance(body, str):
        raise BadRequest("an SQS message needs a string body")
    try:
        event = json.loads(body)
    except ValueError as err:
        raise BadRequest(f"the message body is not JSON: {err}") from err
    if not isinstance(event, Mapping):
        raise BadRequest("the message body must be a JSON object")
    if event.get("Event") == "s3:TestEvent":
        return None
    kind = event_kind(event)
    if kind not in ("s3", "object_created", "direct"):
        raise BadRequest(f"an SQS message cannot carry a {kind} event")
    return event


def without_writes(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of an API or direct event that classifies without writing."""
    kind = event_kind(event)
    if kind == "api":
        query = event.get("queryStringParameters") or {}
        if not isinstance(query, Mapping):
            raise BadRequest("queryStringParameters must be a JSON object")
        return {**event, "queryStringParameters": {**query, "write": "false"}}
    if kind == "direct":
        return {**event, "write": False}
    raise BadRequest(f"writing cannot be turned off for a {kind} event")


def _integer(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = fields.get(name, default)
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer, got {value}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and INTEGER_PATTERN.fullmatch(value.strip()):
        return int(value)
    raise BadRequest(f"{name} must be an integer, got {_shown(value)}")


def _boolean(fields: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = fields.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_boolean(name, value)
        except ValueError as err:
            raise BadRequest(str(err)) from err
    raise BadRequest(f"{name} must be true or false, got {_shown(value)}")


def _shown(value: object) -> str:
    """A value as an error message quotes it: short, whatever was sent."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
