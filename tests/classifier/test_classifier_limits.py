"""What bounds the classifier: verdicts cut to fit their item, calls and
invocations cut to fit their time."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logsorter.classifier.app import call_before, invocation_deadline
from logsorter.classifier.config import CLIENT_LIMITS, ClassifierConfig
from logsorter.classifier.errors import DeadlineExceeded
from logsorter.classifier.jobs_table import (
    MAX_CAPTURE_BYTES,
    MAX_CAPTURES_BYTES,
    MAX_CONTEXT_BYTES,
    MAX_CONTEXT_LINE_BYTES,
    MAX_LINE_BYTES,
    fit_verdict,
    truncated,
    truncated_list,
)
from support.events import LambdaContext

#: The classifier's Lambda timeout, as the README's deployment table sets it.
CLASSIFIER_TIMEOUT_SECONDS = 60
#: DynamoDB's item size limit.
ITEM_LIMIT_BYTES = 400 * 1024


def size(text: str) -> int:
    return len(text.encode())


@settings(max_examples=300, deadline=None)
@given(text=st.text(), limit=st.integers(48, 400))
def test_a_cut_value_fits_and_says_how_much_was_cut(text: str, limit: int) -> None:
    cut = truncated(text, limit)
    assert size(cut) <= limit
    if size(text) <= limit:
        assert cut == text
    else:
        kept, _, marker = cut.partition("…[truncated ")
        assert text.startswith(kept)
        assert marker == f"{size(text) - size(kept)} bytes]"


def test_a_cut_never_splits_a_character() -> None:
    cut = truncated("é" * 1000, 101)
    kept = cut.partition("…")[0]
    assert kept == "é" * 26
    assert cut.endswith(f"[truncated {2000 - 52} bytes]")


def test_entries_past_the_total_are_replaced_by_one_marker() -> None:
    values = ["a" * 30] * 10
    assert truncated_list(values, 100, 95) == ["a" * 30] * 3 + ["…[truncated 7 entries, 210 bytes]"]
    assert truncated_list(values, 100, 1000) == values


def test_the_largest_verdict_leaves_room_in_its_item() -> None:
    huge = "x" * 2_000_000
    verdict = fit_verdict(
        {
            "rule": "r",
            "line": huge,
            "line_num": 1,
            "captures": [huge] * 50,
            "context": [huge] * 1000,
        }
    )
    assert size(verdict["line"]) <= MAX_LINE_BYTES
    assert all(size(c) <= MAX_CAPTURE_BYTES for c in verdict["captures"])
    assert sum(map(size, verdict["captures"])) <= MAX_CAPTURES_BYTES + 64
    assert all(size(c) <= MAX_CONTEXT_LINE_BYTES for c in verdict["context"])
    assert sum(map(size, verdict["context"])) <= MAX_CONTEXT_BYTES + 64
    stored = size(verdict["line"]) + sum(map(size, verdict["captures"] + verdict["context"]))
    # An item holds two verdicts (final and temp log) and the pipeline's data.
    assert 2 * stored < ITEM_LIMIT_BYTES / 2


def test_a_call_fits_the_functions_timeout_with_every_retry() -> None:
    # botocore's standard mode waits at most 2**attempt seconds between attempts.
    backoff = sum(2**attempt for attempt in range(CLIENT_LIMITS.max_attempts - 1))
    per_attempt = CLIENT_LIMITS.connect_timeout_seconds + CLIENT_LIMITS.read_timeout_seconds
    assert CLIENT_LIMITS.max_attempts * per_attempt + backoff < CLASSIFIER_TIMEOUT_SECONDS


def test_a_call_past_its_deadline_is_given_up() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="timed out"):
        call_before(time.monotonic() + 0.2, release.wait)
    assert time.monotonic() - started < 1
    release.set()


def test_a_call_in_time_returns_its_result_or_raises_its_error() -> None:
    deadline = time.monotonic() + 5
    assert call_before(deadline, lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):
        call_before(deadline, lambda: 1 / 0)
    with pytest.raises(DeadlineExceeded, match="no time left"):
        call_before(time.monotonic() - 1, lambda: 42)


def test_the_deadline_comes_from_lambdas_context() -> None:
    assert invocation_deadline(None) is None
    deadline = invocation_deadline(LambdaContext(seconds=10))
    assert deadline is not None
    assert 8 < deadline - time.monotonic() < 10


@pytest.mark.parametrize(("value", "expected"), [("", True), ("true", True), ("No", False)])
def test_creating_missing_jobs_is_read_from_the_environment(value: str, expected: bool) -> None:
    environ = {"LOGSORTER_CREATE_MISSING_JOBS": value}
    assert ClassifierConfig.from_env(environ).create_missing_jobs is expected


def test_a_meaningless_setting_does_not_start_the_function() -> None:
    with pytest.raises(ValueError, match="LOGSORTER_CREATE_MISSING_JOBS must be true or false"):
        ClassifierConfig.from_env({"LOGSORTER_CREATE_MISSING_JOBS": "sometimes"})
