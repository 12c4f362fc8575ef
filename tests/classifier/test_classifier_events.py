"""Events of every shape, however hostile, end in a 400 (or, in a batch, a
record dropped as permanently failed), never in an exception: fuzzed with
hypothesis at every level of API, direct, S3, EventBridge and SQS events."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logsorter import RuleSet
from logsorter.classifier.app import ClassifierApp
from logsorter.classifier.classify import JobClassifier
from logsorter.classifier.config import ClassifierConfig
from logsorter.classifier.errors import BadRequest
from logsorter.classifier.events import request_from_fields, without_writes
from logsorter.observability import Observability
from logsorter.storage import LocalStore
from support.events import api_event, batch, object_created_event, s3_record, sqs_message

FIELDS = ("job_id", "repo", "temp_log", "context_depth", "write")
EVENT_KEYS = (
    *FIELDS,
    "Records",
    "eventSource",
    "s3",
    "bucket",
    "object",
    "name",
    "key",
    "body",
    "messageId",
    "Event",
    "source",
    "detail-type",
    "detail",
    "requestContext",
    "routeKey",
    "queryStringParameters",
)
#: Values that reach further into the parsing than random text does.
TELLING_STRINGS = (
    "aws:s3",
    "aws:sqs",
    "aws.s3",
    "Object Created",
    "ossci-raw-job-status",
    "gha-artifacts",
    "log/7",
    "log/a/b/7",
    "log/./secret/7",
    "temp_logs/7",
    "temp_logs/" + "9" * 5000,
    "9" * 5000,
    "7",
    "-7",
    "0",
    "true",
    "./secret",
    "pytorch/..",
    "owner/name",
    "",
    "s3:TestEvent",
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(TELLING_STRINGS)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
direct_events = st.fixed_dictionaries(
    {"job_id": values}, optional={name: values for name in FIELDS[1:]}
)
api_events = st.builds(
    lambda query, extra: {**api_event(), "queryStringParameters": query, **extra},
    values | direct_events,
    st.dictionaries(st.sampled_from(("requestContext", "routeKey")), values, max_size=2),
)
s3_locations = st.fixed_dictionaries(
    {},
    optional={
        "bucket": values | st.fixed_dictionaries({"name": values}),
        "object": values | st.fixed_dictionaries({"key": values}),
    },
)
s3_records = values | st.builds(
    lambda s3, base: {**base, "s3": s3},
    values | s3_locations,
    st.just(s3_record("ossci-raw-job-status", "log/7")),
)
s3_events = st.lists(s3_records, max_size=3).map(
    lambda records: batch(s3_record("ossci-raw-job-status", "log/7"), *records)
)
object_created_events = st.builds(
    lambda detail: {**object_created_event("ossci-raw-job-status", "log/7"), "detail": detail},
    values | s3_locations,
)
sqs_bodies = (
    values
    | st.text(max_size=20)
    | st.builds(json.dumps, values | direct_events | s3_events | object_created_events | api_events)
)
sqs_records = values | st.builds(
    lambda message_id, body: {**sqs_message("m", ""), "messageId": message_id, "body": body},
    st.text(min_size=1, max_size=8),
    sqs_bodies,
)
sqs_events = st.lists(sqs_records, max_size=3).map(
    lambda records: batch(sqs_message("first", "{}"), *records)
)
events = values | direct_events | api_events | s3_events | object_created_events | sqs_events


@pytest.fixture(scope="module")
def app() -> Iterator[ClassifierApp]:
    """The function over an empty log store: every request it accepts ends
    in a missing log, never at DynamoDB."""
    with tempfile.TemporaryDirectory() as root:
        store = LocalStore(root)
        config = ClassifierConfig(ruleset=RuleSet.default())
        jobs = JobClassifier(config, logs=store, temp_logs=store, dynamodb=None)  # type: ignore[arg-type]
        yield ClassifierApp(jobs, Observability.for_service("classifier"))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(event=events)
def test_no_event_makes_the_handler_raise(app: ClassifierApp, event: Any) -> None:
    response = app.handle_event(event, None)
    if "batchItemFailures" in response:
        # Bad messages and missing logs would fail forever: none is redelivered.
        assert response == {"batchItemFailures": []}
    elif "statuses" in response:
        assert set(response["statuses"].values()) <= {400, 404}
    else:
        assert response["statusCode"] in (400, 404), response


@settings(max_examples=300, deadline=None)
@given(fields=values | direct_events)
def test_fields_are_a_request_or_a_bad_request(fields: Any) -> None:
    try:
        request = request_from_fields(fields)
    except BadRequest:
        return
    assert 0 < request.job_id < 10**20
    assert not any(part.startswith(".") for part in request.repo.split("/"))


@settings(max_examples=200, deadline=None)
@given(event=events)
def test_writes_are_turned_off_or_refused_with_a_bad_request(event: Any) -> None:
    with contextlib.suppress(BadRequest):
        assert without_writes(event) is not None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_id": "9" * 5000}, "job_id must be an integer, got '99999"),
        ({"job_id": 10**20}, "job_id must be a positive integer of at most 20 digits"),
        ({"job_id": 7, "repo": "./secret"}, "repo must look like owner/name"),
        ({"job_id": 7, "repo": "pytorch/."}, "repo must look like owner/name"),
        ({"job_id": 7, "repo": ".github/x"}, "repo must look like owner/name"),
        ({"job_id": 7, "repo": "pytorch/.hidden"}, "repo must look like owner/name"),
        ({"job_id": 7, "repo": "a/b", "temp_log": True}, "temp_log is only for pytorch/pytorch"),
        ({"job_id": 7, "context_depth": "1" * 30}, "context_depth must be an integer"),
        ({"job_id": 7, "write": None}, "write must be true or false, got None"),
    ],
)
def test_refused_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        request_from_fields(fields)
    assert str(refused.value).startswith(message)
    assert len(str(refused.value)) < 200


def test_dotted_names_inside_a_repo_part_are_still_accepted() -> None:
    assert request_from_fields({"job_id": 7, "repo": "a.b/c.d-e_f"}).repo == "a.b/c.d-e_f"
