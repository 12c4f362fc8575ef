"""The classifier as separate processes: ``logsorter invoke`` on the shipped
event file, and the handler under awslambdaric, the runtime interface client
Lambda's Python images run, polling the Runtime API emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from classifier_stack import FAILING_LOG, TEMP_LOG_BUCKET, Stack
from lambda_runtime import LambdaRuntimeEmulator, lambda_function
from logsorter.classifier.jobs_table import TEMP_VERDICT_ATTRIBUTE, VERDICT_ATTRIBUTE
from logsorter.functions import FUNCTIONS_BY_NAME
from support.converse import Reply, converse_server
from support.events import api_event, batch, object_created_event, sqs_message
from support.faults import fault_proxy, s3_get_object, stall

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent
REQUEST = ROOT / "fixtures" / "request.json"
#: The installed console script, as a user runs it.
LOGSORTER = str(Path(sys.executable).with_name("logsorter"))


def shipped_job() -> tuple[str, str]:
    query = json.loads(REQUEST.read_text())["queryStringParameters"]
    return query["repo"], query["job_id"]


def run_logsorter(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGSORTER, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_invoke_classify_on_the_shipped_request(stack: Stack) -> None:
    repo, job_id = shipped_job()
    stack.put_item(f"{repo}/{job_id}")
    stack.put_log(f"log/{job_id}", FAILING_LOG)
    result = run_logsorter("invoke", "classify", "--data-file", str(REQUEST))
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["rule"] == "pytest failure"
    assert '"message":"classified"' in result.stderr
    assert stack.item(f"{repo}/{job_id}") is not None


def test_invoke_no_write_leaves_the_table_alone(stack: Stack) -> None:
    _, job_id = shipped_job()
    stack.put_log(f"log/{job_id}", FAILING_LOG)
    result = run_logsorter("invoke", "classify", "--data-file", str(REQUEST), "--no-write")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200
    assert stack.all_items() == []


def test_invoke_rejects_bad_input_in_one_line(stack: Stack, tmp_path: Path) -> None:
    broken = tmp_path / "event.json"
    broken.write_text("{")
    result = run_logsorter("invoke", "classify", "--data-file", str(broken))
    assert result.returncode == 2
    assert result.stderr.startswith("logsorter: error: ")
    assert result.stderr.count("\n") == 1
    result = run_logsorter("invoke", "classify", "--data-file", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


@pytest.fixture
def classify_function(stack: Stack, aws: str) -> Iterator[LambdaRuntimeEmulator]:
    with lambda_function(
        FUNCTIONS_BY_NAME["classify"].handler, {}, function_name="classify"
    ) as emulator:
        yield emulator


def invoke_over_http(emulator: LambdaRuntimeEmulator, event: object) -> tuple[object, str]:
    """The container emulator's route: the response and its error header."""
    request = urllib.request.Request(
        emulator.invoke_url, data=json.dumps(event).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read()), reply.headers.get("X-Amz-Function-Error", "")


def test_handler_under_the_runtime_interface_client(
    stack: Stack, classify_function: LambdaRuntimeEmulator
) -> None:
    stack.put_item("pytorch/pytorch/2001")
    stack.put_log("log/2001", FAILING_LOG)
    response, error = invoke_over_http(classify_function, api_event(job_id=2001))
    assert error == ""
    assert isinstance(response, dict)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["rule"] == "pytest failure"
    assert stack.item("pytorch/pytorch/2001") is not None

    response, _ = invoke_over_http(classify_function, api_event(job_id=2002))
    assert isinstance(response, dict)
    assert response["statusCode"] == 404


def test_eventbridge_events_directly_and_in_sqs_under_the_runtime_interface_client(
    stack: Stack, classify_function: LambdaRuntimeEmulator
) -> None:
    """The shapes the deployed rules and the backfill queue deliver."""
    for job_id in (2011, 2012):
        stack.put_item(f"pytorch/pytorch/{job_id}")
    stack.put_log("log/2011", FAILING_LOG)
    stack.put_log("temp_logs/2012", FAILING_LOG, bucket=TEMP_LOG_BUCKET)
    direct = object_created_event("ossci-raw-job-status", "log/2011")
    response, error = invoke_over_http(classify_function, direct)
    assert (response, error) == ({"statuses": {"log/2011": 200}}, "")
    assert VERDICT_ATTRIBUTE in (stack.item("pytorch/pytorch/2011") or {})
    queued = batch(sqs_message("m1", object_created_event(TEMP_LOG_BUCKET, "temp_logs/2012")))
    response, error = invoke_over_http(classify_function, queued)
    assert (response, error) == ({"batchItemFailures": []}, "")
    assert TEMP_VERDICT_ATTRIBUTE in (stack.item("pytorch/pytorch/2012") or {})


def test_a_poison_message_fails_nothing_under_the_runtime_interface_client(
    stack: Stack, classify_function: LambdaRuntimeEmulator
) -> None:
    for job_id in (2003, 2004):
        stack.put_item(f"pytorch/pytorch/{job_id}")
        stack.put_log(f"log/{job_id}", FAILING_LOG)
    messages = batch(
        sqs_message("good", {"job_id": 2003}),
        # int() refuses a string of more than 4300 digits.
        sqs_message("poison", '{"job_id": "' + "9" * 5000 + '"}'),
        sqs_message("not-json", "not json"),
        sqs_message("also-good", {"job_id": 2004}),
    )
    response, error = invoke_over_http(classify_function, messages)
    assert error == ""
    # The poison and the garbage would fail forever: dropped, not redelivered.
    assert response == {"batchItemFailures": []}
    for job_id in (2003, 2004):
        assert VERDICT_ATTRIBUTE in (stack.item(f"pytorch/pytorch/{job_id}") or {})


def test_a_stalled_read_answers_before_the_runtimes_deadline(stack: Stack, aws: str) -> None:
    timeout_seconds = 4
    stack.put_item("pytorch/pytorch/2005")
    stack.put_log("log/2005", FAILING_LOG)
    handler = FUNCTIONS_BY_NAME["classify"].handler
    with fault_proxy(aws) as proxy:
        proxy.inject(stall(s3_get_object("log/2005")))
        environment = {"AWS_ENDPOINT_URL_S3": proxy.url}
        with lambda_function(handler, environment, timeout_seconds=timeout_seconds) as emulator:
            # The first invocation also waits for the runtime to start.
            response, _ = invoke_over_http(emulator, {"job_id": "warm-up"})
            assert isinstance(response, dict)
            assert response["statusCode"] == 400
            started = time.monotonic()
            response, error = invoke_over_http(emulator, api_event(job_id=2005))
            answered_api = time.monotonic() - started
            started = time.monotonic()
            batch_response, _ = invoke_over_http(
                emulator, batch(sqs_message("stalled", {"job_id": 2005}))
            )
            answered_batch = time.monotonic() - started
    assert error == ""
    assert isinstance(response, dict)
    assert response["statusCode"] == 504
    assert "timed out" in response["body"]
    assert batch_response == {"batchItemFailures": [{"itemIdentifier": "stalled"}]}
    assert answered_api < timeout_seconds
    assert answered_batch < timeout_seconds


#: Only the build tool's wrapper line names the failure: a weak verdict.
WRAPPED_FAILURE = (
    "+ make all\n"
    "cc -c widget.c\n"
    "widget.c: linking the gadget table broke\n"
    "make: *** [all] Error 1\n"
)


def test_the_language_model_fallback_under_the_runtime_interface_client(
    stack: Stack, aws: str
) -> None:
    """With ``LOGSORTER_LLM_MODEL`` set, the deployed handler asks Bedrock
    (here the loopback Converse server) about a wrapper's verdict, stores
    the line it names, and keeps the engine's verdict when Bedrock throttles."""
    model = "anthropic.claude-test-v1"
    for job_id in (2021, 2022):
        stack.put_item(f"pytorch/pytorch/{job_id}")
        stack.put_log(f"log/{job_id}", WRAPPED_FAILURE)
    handler = FUNCTIONS_BY_NAME["classify"].handler
    with converse_server() as bedrock:
        environment = {
            "LOGSORTER_LLM_MODEL": model,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url,
        }
        with lambda_function(handler, environment) as emulator:
            bedrock.replies[:] = [Reply(text="3")]
            response, error = invoke_over_http(emulator, api_event(job_id=2021))
            assert error == ""
            assert isinstance(response, dict)
            answered = json.loads(response["body"])
            assert (answered["rule"], answered["line_num"]) == (f"llm:{model}", 3)
            assert answered["line"] == "widget.c: linking the gadget table broke"
            assert bedrock.requests[0][0] == model

            bedrock.replies[:] = [Reply(error="ThrottlingException", status=429)]
            response, error = invoke_over_http(emulator, api_event(job_id=2022))
            assert error == ""
            assert isinstance(response, dict)
            assert not json.loads(response["body"])["rule"].startswith("llm:")
    stored = stack.item("pytorch/pytorch/2021") or {}
    assert f"llm:{model}" in json.dumps(stored[VERDICT_ATTRIBUTE])


def test_a_missing_handler_fails_each_invocation_as_lambda_does(aws: str) -> None:
    with lambda_function("logsorter.handlers.no_such_handler", {}) as emulator:
        response, error = invoke_over_http(emulator, {"job_id": 1})
    assert error == "Unhandled"
    assert isinstance(response, dict)
    assert response["errorType"] == "Runtime.HandlerNotFound"
