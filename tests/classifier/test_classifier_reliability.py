"""The classifier under hostile input and faults, against the moto server:
poison records in batches, stalled reads, verdicts too large to store, jobs
the table does not know."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from classifier_stack import FAILING_LOG, LOG_BUCKET, TEMP_LOG_BUCKET, Stack, stored_verdict
from logsorter import handlers
from logsorter.classifier.app import ANSWER_MARGIN_SECONDS
from logsorter.classifier.errors import RetryableRecords
from logsorter.classifier.jobs_table import (
    KEY_ATTRIBUTE,
    MAX_CAPTURE_BYTES,
    MAX_CONTEXT_LINE_BYTES,
    MAX_LINE_BYTES,
    VERDICT_ATTRIBUTE,
)
from support.events import LambdaContext, api_event, batch, s3_event, sqs_message
from support.faults import (
    FaultProxy,
    dynamodb_error,
    dynamodb_throttling,
    fault_proxy,
    s3_get_object,
    stall,
)

pytestmark = pytest.mark.integration

#: Python's int() refuses strings of more than 4300 digits.
HUGE_JOB_ID = "9" * 5000


def published_metrics(output: str) -> dict[str, float]:
    """Every metric the EMF lines in ``output`` published, summed by name."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = definition["Name"]
            totals[name] = totals.get(name, 0) + sum(document[name])
    return totals


def jobs_with_logs(stack: Stack, *job_ids: int) -> None:
    for job_id in job_ids:
        stack.put_item(f"pytorch/pytorch/{job_id}")
        stack.put_log(f"log/{job_id}", FAILING_LOG)


def has_verdict(stack: Stack, job_id: int) -> bool:
    return VERDICT_ATTRIBUTE in (stack.item(f"pytorch/pytorch/{job_id}") or {})


def test_a_poison_message_fails_nothing_else_in_its_batch(
    stack: Stack,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGSORTER_CREATE_MISSING_JOBS", "false")
    jobs_with_logs(stack, 3001, 3002)
    event = batch(
        sqs_message("good", {"job_id": 3001}),
        sqs_message("poison", {"job_id": HUGE_JOB_ID}),
        sqs_message("poison-notification", s3_event(LOG_BUCKET, f"log/{HUGE_JOB_ID}")),
        sqs_message("unknown-job", {"job_id": 3009}),
        sqs_message("not-an-object", [1, 2]),
        sqs_message("also-good", {"job_id": 3002}),
    )
    stack.put_log("log/3009", FAILING_LOG)
    response = handlers.classify(event, None)
    # Each would fail the same way forever: dropped, logged and counted.
    assert response == {"batchItemFailures": []}
    assert has_verdict(stack, 3001)
    assert has_verdict(stack, 3002)
    assert stack.item("pytorch/pytorch/3009") is None
    assert published_metrics(capsys.readouterr().out)["DroppedRecords"] == 4
    assert caplog.messages.count("record dropped, it would fail again") == 4


def test_a_poison_record_fails_nothing_else_in_its_s3_event(stack: Stack) -> None:
    jobs_with_logs(stack, 3003, 3004)
    event = s3_event(LOG_BUCKET, "log/3003", f"log/{HUGE_JOB_ID}", "log/a/./b/1", "log/3004")
    event["Records"].append({"s3": None})
    response = handlers.classify(event, None)
    assert response == {
        "statuses": {
            "log/3003": 200,
            f"log/{HUGE_JOB_ID}": 400,
            "log/a/./b/1": 400,
            "log/3004": 200,
            "Records[4]": 400,
        }
    }
    assert has_verdict(stack, 3003)
    assert has_verdict(stack, 3004)


def test_an_s3_event_raises_for_a_retryable_record_once_all_are_done(
    stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs_with_logs(stack, 3005, 3006)
    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        proxy.inject(dynamodb_throttling("UpdateItem", times=100, body_contains=b"/3005"))
        with pytest.raises(RetryableRecords, match=r"1 of 2 to be tried again: log/3005 \(502\)"):
            handlers.classify(s3_event(LOG_BUCKET, "log/3005", "log/3006"), None)
    assert not has_verdict(stack, 3005)
    assert has_verdict(stack, 3006)


def test_a_verdict_on_a_1_mb_line_is_stored_cut_to_the_limits(stack: Stack) -> None:
    test_name = "test_big.py::test_" + "x" * 1_000_000
    line = f"FAILED {test_name} - AssertionError"
    trace = "+ python -m pytest " + "-k y " * 200_000
    stack.put_item("pytorch/pytorch/3007", conclusion="failure")
    stack.put_log("log/3007", f"{trace}\n{line}\n")
    response = handlers.classify(api_event(job_id=3007), None)
    assert response["statusCode"] == 200
    answered = json.loads(response["body"])
    item = stack.item("pytorch/pytorch/3007")
    assert item is not None
    assert item["conclusion"] == {"S": "failure"}
    assert stored_verdict(item) == answered
    assert answered["rule"] == "pytest failure"
    assert answered["line_num"] == 2
    for value, original, limit in [
        (answered["line"], line, MAX_LINE_BYTES),
        (answered["captures"][0], test_name, MAX_CAPTURE_BYTES),
        (answered["context"][0], trace, MAX_CONTEXT_LINE_BYTES),
    ]:
        kept, _, marker = value.partition("…[truncated ")
        assert original.startswith(kept)
        assert marker == f"{len(original) - len(kept)} bytes]"
        assert len(value.encode()) <= limit


def test_a_write_dynamodb_refuses_is_not_redelivered(
    stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs_with_logs(stack, 3008)
    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        # What DynamoDB answers when the item with the verdict would be too large.
        proxy.inject(
            dynamodb_error(
                "UpdateItem",
                "ValidationException",
                "Item size to update has exceeded the maximum allowed size",
                times=2,
            )
        )
        response = handlers.classify(api_event(job_id=3008), None)
        assert response["statusCode"] == 502
        assert "exceeded the maximum allowed size" in response["body"]
        response = handlers.classify(batch(sqs_message("refused", {"job_id": 3008})), None)
        assert response == {"batchItemFailures": []}
    assert not has_verdict(stack, 3008)


def test_a_job_the_table_does_not_know_is_a_clear_404_when_items_must_exist(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGSORTER_CREATE_MISSING_JOBS", "false")
    stack.put_log("log/3010", FAILING_LOG)
    stack.s3.put_object(Bucket=TEMP_LOG_BUCKET, Key="temp_logs/3010", Body=FAILING_LOG.encode())
    for event in (api_event(job_id=3010), api_event(job_id=3010, temp_log="true")):
        response = handlers.classify(event, None)
        assert response["statusCode"] == 404
        assert (
            response["body"] == "job pytorch/pytorch/3010 is not in the table torchci-workflow-job"
        )
    assert stack.all_items() == []


def test_missing_jobs_get_their_item_by_default(stack: Stack) -> None:
    stack.put_log("log/3011", FAILING_LOG)
    assert handlers.classify(api_event(job_id=3011), None)["statusCode"] == 200
    assert has_verdict(stack, 3011)


@pytest.mark.parametrize(
    "query",
    [
        {"job_id": 3012, "repo": "./secret"},
        {"job_id": 3012, "repo": "pytorch/.."},
        {"job_id": 3012, "repo": ".github/x"},
        {"job_id": 3012, "repo": "pytorch/vision", "temp_log": "true"},
        {"job_id": HUGE_JOB_ID},
    ],
)
def test_requests_naming_no_real_job_read_and_write_nothing(
    stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch, query: dict[str, Any]
) -> None:
    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        response = handlers.classify(api_event(**query), None)
        assert response["statusCode"] == 400
        assert proxy.seen == []
    assert len(response["body"]) < 200


@pytest.fixture
def stalled_s3(stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """S3 behind a fault proxy that holds back every read of ``log/3013``."""
    with fault_proxy(aws) as proxy:
        jobs_with_logs(stack, 3013, 3014)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        proxy.inject(stall(s3_get_object("log/3013")))
        yield proxy


@pytest.mark.usefixtures("stalled_s3")
def test_a_stalled_read_answers_a_retryable_504_before_the_deadline() -> None:
    started = time.monotonic()
    response = handlers.classify(api_event(job_id=3013), LambdaContext(seconds=3))
    elapsed = time.monotonic() - started
    assert response["statusCode"] == 504
    assert "timed out" in response["body"]
    assert 3 - ANSWER_MARGIN_SECONDS - 0.5 < elapsed < 3


@pytest.mark.usefixtures("stalled_s3")
def test_a_stalled_read_in_a_batch_is_retried_with_what_had_no_time_left(stack: Stack) -> None:
    event = batch(
        sqs_message("stalled", {"job_id": 3013}),
        sqs_message("no-time-left", {"job_id": 3014}),
    )
    started = time.monotonic()
    response = handlers.classify(event, LambdaContext(seconds=3))
    assert time.monotonic() - started < 3
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "stalled"}, {"itemIdentifier": "no-time-left"}]
    }
    with pytest.raises(RetryableRecords, match="log/3013 \\(504\\)"):
        handlers.classify(s3_event(LOG_BUCKET, "log/3013"), LambdaContext(seconds=2))
    assert stack.item("pytorch/pytorch/3014") == {KEY_ATTRIBUTE: {"S": "pytorch/pytorch/3014"}}
