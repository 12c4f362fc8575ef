"""Builders of the events Lambda hands the functions: API Gateway requests,
S3 notifications, EventBridge events, SQS batches and SNS records, shaped as
AWS sends them, and
the context object it passes beside them."""

from __future__ import annotations

import json
import time
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


def api_event(**query: object) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) GET with these query parameters."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"host": f"example.execute-api.{REGION}.amazonaws.com"},
        "queryStringParameters": {k: str(v) for k, v in query.items()} or None,
        "requestContext": {"http": {"method": "GET", "path": "/"}, "routeKey": "$default"},
        "isBase64Encoded": False,
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    """An event carrying these records, as S3, SQS and SNS deliver them."""
    return {"Records": list(records)}


def s3_record(bucket: str, key: str) -> dict[str, Any]:
    """An ``ObjectCreated`` record; ``key`` as S3 sends it (URL-encoded)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}},
    }


def s3_event(bucket: str, *keys: str) -> dict[str, Any]:
    """An S3 notification of these objects."""
    return batch(*(s3_record(bucket, key) for key in keys))


def object_created_event(bucket: str, key: str) -> dict[str, Any]:
    """S3's EventBridge ``Object Created`` event; ``key`` as S3 sends it."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-12-03T07:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 1, "etag": "b1946ac92492d2347c6235b4d2611184"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def sqs_message(message_id: str, body: object) -> dict[str, Any]:
    """An SQS record; a body that is not a string is sent as its JSON."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue",
        "awsRegion": REGION,
    }


def sqs_event(*bodies: object) -> dict[str, Any]:
    """An SQS batch of these message bodies, with ids ``m0``, ``m1``, ..."""
    return batch(*(sqs_message(f"m{i}", body) for i, body in enumerate(bodies)))


def sns_record(message: object) -> dict[str, Any]:
    """An SNS notification record whose message is ``message`` as JSON."""
    return {
        "EventSource": "aws:sns",
        "Sns": {"Type": "Notification", "Message": json.dumps(message)},
    }


class LambdaContext:
    """The parts of Lambda's context object the handlers read, with
    ``seconds`` left before the function's timeout."""

    def __init__(self, seconds: float, request_id: str = "test-request") -> None:
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
