"""The classify handler end to end against the moto server: real boto3 calls
over HTTP, the verdict read back from DynamoDB."""

from __future__ import annotations

import gzip
import json

import pytest
from classifier_stack import (
    FAILING_LOG,
    PASSING_LOG,
    TEMP_LOG_BUCKET,
    Stack,
    stored_verdict,
)
from logsorter import RuleSet, handlers
from logsorter.classifier.jobs_table import (
    DIGEST_ATTRIBUTE,
    DIGEST_SUFFIX,
    KEY_ATTRIBUTE,
    TEMP_VERDICT_ATTRIBUTE,
    VERDICT_ATTRIBUTE,
)
from support.events import api_event, batch, object_created_event, s3_event, sqs_message
from support.faults import Fault, amz_target, dynamodb_throttling, fault_proxy

pytestmark = pytest.mark.integration

EXPECTED_VERDICT = {
    "rule": "pytest failure",
    "line": "FAILED test_ops.py::TestOps::test_mul - AssertionError",
    "line_num": 4,
    "captures": ["test_ops.py::TestOps::test_mul"],
    "context": ["+ python test/run_test.py --shard 1 2"],
    "score": 1.0,
}


def test_api_event_writes_the_verdict_and_the_ruleset_digest(stack: Stack) -> None:
    stack.put_item("pytorch/pytorch/1001")
    stack.put_log("log/1001", FAILING_LOG)
    response = handlers.classify(api_event(job_id=1001), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == EXPECTED_VERDICT
    item = stack.item("pytorch/pytorch/1001")
    assert item is not None
    assert stored_verdict(item) == EXPECTED_VERDICT
    # The stored map has exactly the keys of ``Match.to_dict()``.
    assert set(item[VERDICT_ATTRIBUTE]["M"]) == set(EXPECTED_VERDICT)
    assert item[DIGEST_ATTRIBUTE] == {"S": RuleSet.default().digest}


def test_other_repo_reads_and_writes_under_the_repo(stack: Stack) -> None:
    stack.put_item("pytorch/vision/1002")
    stack.put_log("log/pytorch/vision/1002", FAILING_LOG)
    response = handlers.classify(api_event(job_id=1002, repo="pytorch/vision"), None)
    assert response["statusCode"] == 200
    assert stack.item("pytorch/pytorch/1002") is None
    item = stack.item("pytorch/vision/1002")
    assert item is not None
    assert stored_verdict(item) == EXPECTED_VERDICT


def test_temp_log_goes_to_its_own_attribute_and_plain_text_is_accepted(stack: Stack) -> None:
    stack.put_item("pytorch/pytorch/1003")
    stack.s3.put_object(Bucket=TEMP_LOG_BUCKET, Key="temp_logs/1003", Body=FAILING_LOG.encode())
    response = handlers.classify(api_event(job_id=1003, temp_log="true"), None)
    assert response["statusCode"] == 200
    item = stack.item("pytorch/pytorch/1003")
    assert item is not None
    assert VERDICT_ATTRIBUTE not in item
    assert stored_verdict(item, TEMP_VERDICT_ATTRIBUTE) == EXPECTED_VERDICT
    assert TEMP_VERDICT_ATTRIBUTE + DIGEST_SUFFIX in item


def test_no_match_answers_so_and_writes_nothing(stack: Stack) -> None:
    stack.put_log("log/1004", PASSING_LOG)
    response = handlers.classify(api_event(job_id=1004), None)
    assert (response["statusCode"], response["body"]) == (200, "No match found")
    assert stack.all_items() == []


def test_missing_log_is_404_and_writes_nothing(stack: Stack) -> None:
    response = handlers.classify(api_event(job_id=1005), None)
    assert response["statusCode"] == 404
    assert response["body"] == "no log at s3://ossci-raw-job-status/log/1005"
    assert stack.all_items() == []


def test_truncated_gzip_is_a_clear_422_and_writes_nothing(stack: Stack) -> None:
    body = gzip.compress(FAILING_LOG.encode() * 50)
    stack.s3.put_object(Bucket="ossci-raw-job-status", Key="log/1006", Body=body[: len(body) // 2])
    response = handlers.classify(api_event(job_id=1006), None)
    assert response["statusCode"] == 422
    assert "truncated" in response["body"]
    assert "Traceback" not in response["body"]
    assert stack.all_items() == []


def test_invalid_utf8_is_replaced_not_rejected(stack: Stack) -> None:
    log = FAILING_LOG.encode().replace(b"AssertionError", b"Assertion\xff\xfeError")
    stack.put_item("pytorch/pytorch/1007")
    stack.put_log("log/1007", log)
    response = handlers.classify(api_event(job_id=1007), None)
    assert response["statusCode"] == 200
    item = stack.item("pytorch/pytorch/1007")
    assert item is not None
    assert item[VERDICT_ATTRIBUTE]["M"]["line"]["S"].endswith("Assertion\ufffd\ufffdError")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"repo": "pytorch/pytorch"}, "job_id is required"),
        ({"job_id": "12ab"}, "job_id must be an integer, got '12ab'"),
        ({"job_id": "-3"}, "job_id must be a positive integer"),
        ({"job_id": 7, "repo": "pytorch"}, "repo must look like owner/name, got 'pytorch'"),
        ({"job_id": 7, "repo": "../etc/x"}, "repo must look like owner/name, got '../etc/x'"),
        ({"job_id": 7, "context_depth": "deep"}, "context_depth must be an integer"),
        ({"job_id": 7, "temp_log": "maybe"}, "temp_log must be true or false, got 'maybe'"),
    ],
)
def test_bad_requests_are_400_with_a_clear_message(
    stack: Stack, query: dict[str, object], message: str
) -> None:
    response = handlers.classify(api_event(**query), None)
    assert response["statusCode"] == 400
    assert response["body"].startswith(message)
    assert stack.all_items() == []


def test_other_attributes_of_the_item_survive(stack: Stack) -> None:
    stack.put_item("pytorch/pytorch/1008", conclusion="failure", completed_at="2026-01-05T10:03Z")
    stack.put_log("log/1008", FAILING_LOG)
    handlers.classify(api_event(job_id=1008), None)
    item = stack.item("pytorch/pytorch/1008")
    assert item is not None
    assert item["conclusion"] == {"S": "failure"}
    assert item["completed_at"] == {"S": "2026-01-05T10:03Z"}
    assert stored_verdict(item) == EXPECTED_VERDICT


def test_direct_invocation_and_write_false(stack: Stack) -> None:
    stack.put_item("pytorch/audio/1009")
    stack.put_log("log/pytorch/audio/1009", FAILING_LOG)
    event = {"job_id": 1009, "repo": "pytorch/audio", "context_depth": 0, "write": False}
    response = handlers.classify(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["context"] == []
    assert stack.all_items() == [{KEY_ATTRIBUTE: {"S": "pytorch/audio/1009"}}]
    response = handlers.classify({**event, "write": True}, None)
    assert VERDICT_ATTRIBUTE in (stack.item("pytorch/audio/1009") or {})


def test_unrecognised_event_is_400(stack: Stack) -> None:
    response = handlers.classify({"hello": "world"}, None)
    assert response["statusCode"] == 400
    assert response["body"].startswith("unrecognised event")


def test_s3_notification_classifies_each_log_object(stack: Stack) -> None:
    for job in ("pytorch/pytorch/1010", "pytorch/vision/1011"):
        stack.put_item(job)
    stack.put_log("log/1010", FAILING_LOG)
    stack.put_log("log/pytorch/vision/1011", FAILING_LOG)
    event = s3_event("ossci-raw-job-status", "log/1010", "log/pytorch/vision/1011")
    response = handlers.classify(event, None)
    assert response == {"statuses": {"log/1010": 200, "log/pytorch/vision/1011": 200}}
    assert stack.item("pytorch/pytorch/1010") is not None
    assert stack.item("pytorch/vision/1011") is not None


def test_eventbridge_object_created_classifies_its_log_directly_or_through_sqs(
    stack: Stack,
) -> None:
    for job in ("pytorch/pytorch/1014", "pytorch/pytorch/1015"):
        stack.put_item(job)
    stack.put_log("log/1014", FAILING_LOG)
    stack.put_log("temp_logs/1015", FAILING_LOG, bucket=TEMP_LOG_BUCKET)
    direct = handlers.classify(object_created_event("ossci-raw-job-status", "log/1014"), None)
    assert direct == {"statuses": {"log/1014": 200}}
    assert VERDICT_ATTRIBUTE in (stack.item("pytorch/pytorch/1014") or {})
    queued = batch(
        sqs_message("temp", object_created_event(TEMP_LOG_BUCKET, "temp_logs/1015")),
        sqs_message("elsewhere", object_created_event("another-bucket", "log/1015")),
    )
    assert handlers.classify(queued, None) == {"batchItemFailures": []}
    assert TEMP_VERDICT_ATTRIBUTE in (stack.item("pytorch/pytorch/1015") or {})


def test_eventbridge_event_for_a_missing_log_is_dropped_not_retried(stack: Stack) -> None:
    response = handlers.classify(object_created_event("ossci-raw-job-status", "log/1016"), None)
    assert response == {"statuses": {"log/1016": 404}}


def test_sqs_batch_reports_only_the_messages_that_may_succeed_later(
    stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for job in ("pytorch/pytorch/1012", "pytorch/pytorch/1013", "pytorch/pytorch/1019"):
        stack.put_item(job)
    for key in ("log/1012", "log/1013", "log/1019"):
        stack.put_log(key, FAILING_LOG)
    event = batch(
        sqs_message("direct", {"job_id": 1012}),
        sqs_message("poison", "{not json"),
        sqs_message("missing", {"job_id": 404404}),
        sqs_message("notification", s3_event("ossci-raw-job-status", "log/1013")),
        sqs_message("s3-test", {"Event": "s3:TestEvent"}),
        sqs_message("throttled", {"job_id": 1019}),
    )
    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        # Every write of job 1019 is throttled, past the client's retries.
        proxy.inject(dynamodb_throttling("UpdateItem", times=100, body_contains=b"/1019"))
        response = handlers.classify(event, None)
    # Bad, missing and unreadable work is dropped (it would fail forever);
    # only the throttled message returns to the queue.
    assert response == {"batchItemFailures": [{"itemIdentifier": "throttled"}]}
    assert VERDICT_ATTRIBUTE in (stack.item("pytorch/pytorch/1012") or {})
    assert VERDICT_ATTRIBUTE in (stack.item("pytorch/pytorch/1013") or {})
    assert VERDICT_ATTRIBUTE not in (stack.item("pytorch/pytorch/1019") or {})
    assert stack.item("pytorch/pytorch/404404") is None


def test_clients_and_ruleset_are_built_once_per_container(stack: Stack) -> None:
    stack.put_item("pytorch/pytorch/1014")
    stack.put_log("log/1014", FAILING_LOG)
    handlers.classify(api_event(job_id=1014), None)
    first = handlers._classifier
    handlers.classify(api_event(job_id=1014), None)
    assert first is not None
    assert handlers._classifier is first


def test_ruleset_comes_from_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    ruleset = tmp_path / "rules.toml"  # type: ignore[operator]
    ruleset.write_text("[[rule]]\nname = 'shard'\npattern = '--shard (\\d+)'\n")
    monkeypatch.setenv("LOGSORTER_RULESET", str(ruleset))
    stack.put_item("pytorch/pytorch/1015")
    stack.put_log("log/1015", FAILING_LOG)
    response = handlers.classify(api_event(job_id=1015), None)
    assert json.loads(response["body"])["rule"] == "shard"
    item = stack.item("pytorch/pytorch/1015")
    assert item is not None
    assert item[DIGEST_ATTRIBUTE]["S"] == RuleSet.from_file(ruleset).digest


@pytest.mark.parametrize(
    "fault",
    [
        dynamodb_throttling("UpdateItem", times=2),
        Fault(amz_target("UpdateItem"), "drop"),
        Fault(amz_target("UpdateItem"), "drop_after_upstream"),
        Fault(amz_target("UpdateItem"), "respond", status=500, body=b"{}"),
    ],
    ids=["throttled", "dropped", "reply-lost", "server-error"],
)
def test_write_is_retried_through_faults(
    stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    stack.put_item("pytorch/pytorch/1016", conclusion="failure")
    stack.put_log("log/1016", FAILING_LOG)
    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        proxy.inject(fault)
        response = handlers.classify(api_event(job_id=1016), None)
        updates = [r for r in proxy.seen if r.amz_target.endswith(".UpdateItem")]
    assert response["statusCode"] == 200
    assert fault.injected == fault.times
    assert len(updates) == fault.times + 1
    item = stack.item("pytorch/pytorch/1016")
    assert item is not None
    assert item["conclusion"] == {"S": "failure"}
    assert stored_verdict(item) == EXPECTED_VERDICT


def test_write_failing_past_the_retries_is_502_and_leaves_the_item_alone(
    stack: Stack, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.put_item("pytorch/pytorch/1017", conclusion="failure")
    stack.put_log("log/1017", FAILING_LOG)
    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        proxy.inject(dynamodb_throttling("UpdateItem", times=100))
        response = handlers.classify(api_event(job_id=1017), None)
    assert response["statusCode"] == 502
    assert "ProvisionedThroughputExceeded" in response["body"]
    assert stack.item("pytorch/pytorch/1017") == {
        KEY_ATTRIBUTE: {"S": "pytorch/pytorch/1017"},
        "conclusion": {"S": "failure"},
    }


@pytest.mark.slow
def test_a_100_mb_log(stack: Stack) -> None:
    chunk = "\n".join(
        f"2026-01-05T10:{i % 60:02d}:00.0000000Z test_big.py::TestBig::test_{i} PASSED [ 42%]"
        for i in range(2000)
    )
    repeats = 100 * 1024 * 1024 // len(chunk) + 1
    log = (chunk + "\n") * repeats + FAILING_LOG
    stack.put_item("pytorch/pytorch/1018")
    body = stack.put_log("log/1018", log)
    response = handlers.classify(api_event(job_id=1018), None)
    assert len(log) > 100 * 1024 * 1024
    assert len(body) < len(log)
    assert response["statusCode"] == 200
    verdict = json.loads(response["body"])
    assert verdict["rule"] == "pytest failure"
    assert verdict["line_num"] == log.count("\n") - 1


SHARED_STEPS = (
    "2026-01-05T10:00:00.1000000Z ##[group]Run ./ci/build.sh\n"
    "2026-01-05T10:00:01.1000000Z + ./ci/build.sh\n"
    "2026-01-05T10:00:02.1000000Z error: remote cache unavailable, building locally\n"
)
#: The cause is a line no rule names; the only error-looking lines are ones
#: the passing run prints too.
FAILING_AGAINST_BASELINE = SHARED_STEPS + (
    "2026-01-05T10:00:03.1000000Z packer stage 3 failed: segment table overflow\n"
    "2026-01-05T10:00:04.1000000Z error: remote cache unavailable, building locally\n"
    "2026-01-05T10:00:05.1000000Z ##[error]Process completed with exit code 2.\n"
)
PASSING_BASELINE = SHARED_STEPS + "2026-01-05T10:00:05.1000000Z done\n"


def test_a_baseline_job_is_read_like_the_job_and_its_lines_are_not_the_cause(
    stack: Stack,
) -> None:
    stack.put_log("log/pytorch/vision/7001", FAILING_AGAINST_BASELINE)
    stack.put_log("log/pytorch/vision/7000", PASSING_BASELINE)
    alone = handlers.classify(api_event(job_id=7001, repo="pytorch/vision"), None)
    assert json.loads(alone["body"])["line_num"] != 4
    against = handlers.classify(
        api_event(job_id=7001, repo="pytorch/vision", baseline_job_id="7000"), None
    )
    verdict = json.loads(against["body"])
    assert (verdict["rule"], verdict["line_num"]) == ("located failure", 4)
    item = stack.item("pytorch/vision/7001")
    assert item is not None
    assert stored_verdict(item)["line_num"] == 4  # type: ignore[index]
    # A baseline that is gone leaves the job classified on its own.
    direct = {"job_id": 7001, "repo": "pytorch/vision", "baseline_job_id": 6999}
    missing = handlers.classify(direct, None)
    assert json.loads(missing["body"]) == json.loads(alone["body"])
