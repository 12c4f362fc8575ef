"""The collator the way Lambda runs it: ``python -m awslambdaric`` polling the
Runtime API emulator, with its structured logs and metrics read back from the
process's output."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest
from collator_support import BUCKET, DEVICE, invoke, sms
from lambda_runtime import lambda_function
from logsorter.functions import FUNCTIONS_BY_NAME
from logsorter.storage import S3Store
from support.events import object_created_event, s3_event, sqs_event
from support.uploads import upload

pytestmark = pytest.mark.integration


def json_lines(output: bytes) -> list[dict[str, Any]]:
    lines = []
    for line in output.decode().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_logs_and_metrics_are_structured_under_the_runtime_client(s3_store: S3Store) -> None:
    good, broken = f"{DEVICE}sms-1.ndjson.gz", f"{DEVICE}sms-2.ndjson.gz"
    s3_store.put(good, upload([sms(i) for i in range(5)]))
    s3_store.put(broken, b"\x1f\x8b not really gzip")
    with tempfile.TemporaryFile() as log:
        with lambda_function(FUNCTIONS_BY_NAME["collate"].handler, {}, log=log) as collator:
            batch = sqs_event(*(s3_event(BUCKET, key) for key in (good, broken, good)))
            assert invoke(collator, batch) == {"batchItemFailures": []}
        log.seek(0)
        lines = json_lines(log.read())

    logged = {(line.get("message"), line.get("key")): line for line in lines if "level" in line}
    collated = logged[("collated", good)]
    assert collated["service"] == "collator"
    assert collated["level"] == "INFO"
    assert (collated["records"], collated["added"], collated["conflicts"]) == (5, 5, 0)
    assert collated["bucket"] == BUCKET
    assert collated["upload_bytes"] > 0
    assert collated["request_id"]
    assert logged[("already_collated", good)]["added"] == 0
    rejected = logged[("rejected", broken)]
    assert rejected["report_key"].startswith("collated_logs/errors/")

    [metrics] = [line for line in lines if "_aws" in line]
    [directive] = metrics["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "logsorter"
    assert metrics["service"] == "collator"
    assert metrics["UploadsCollated"] == [1.0]
    assert metrics["UploadsAlreadyCollated"] == [1.0]
    assert metrics["UploadsRejected"] == [1.0]
    assert metrics["RecordsAdded"] == [5.0, 0.0, 0.0]
    assert metrics["CommitConflicts"] == [0.0, 0.0, 0.0]
    assert metrics["Invocations"] == [1.0]


def test_eventbridge_events_directly_and_in_sqs_under_the_runtime_client(
    s3_store: S3Store,
) -> None:
    """The shapes the deployed upload queue and an asynchronous invocation deliver."""
    first, second = f"{DEVICE}sms-1.ndjson.gz", f"{DEVICE}sms-2.ndjson.gz"
    s3_store.put(first, upload([sms(i) for i in range(3)]))
    s3_store.put(second, upload([sms(i) for i in range(3, 6)]))
    with lambda_function(FUNCTIONS_BY_NAME["collate"].handler, {}) as collator:
        assert invoke(collator, object_created_event(BUCKET, first)) == {
            "results": [{"key": first, "status": "collated"}]
        }
        queued = sqs_event(object_created_event(BUCKET, second))
        assert invoke(collator, queued) == {"batchItemFailures": []}
    assert s3_store.get("collated_logs/current/sms/user-u1/device-d1.parquet") is not None
