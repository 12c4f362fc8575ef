"""``logsorter backfill`` against the moto server: which jobs it picks, and
each of its three modes."""

from __future__ import annotations

import json

import pytest
from classifier_stack import FAILING_LOG, Stack
from logsorter import RuleSet
from logsorter.classifier.jobs_table import DIGEST_ATTRIBUTE, KEY_ATTRIBUTE
from logsorter.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def jobs(stack: Stack) -> Stack:
    """Jobs of every kind the selection must tell apart, each with its log."""
    current = RuleSet.default().digest
    stack.put_item("pytorch/pytorch/1", conclusion="failure", completed_at="2026-01-01T00:00:00Z")
    stack.put_item("pytorch/vision/2", conclusion="failure", completed_at="2026-01-03T00:00:00Z")
    stack.put_item("pytorch/pytorch/3", conclusion="failure", started_at="2026-01-02T00:00:00Z")
    stack.put_item("pytorch/pytorch/4", conclusion="failure", completed_at="2026-01-04T00:00:00Z")
    stack.put_verdict("pytorch/pytorch/4", "an old rule", digest="an-older-ruleset")
    stack.put_item("pytorch/pytorch/5", conclusion="failure", completed_at="2026-01-05T00:00:00Z")
    stack.put_verdict("pytorch/pytorch/5", "disk full", digest=current)
    stack.put_item("pytorch/pytorch/6", conclusion="success", completed_at="2026-01-06T00:00:00Z")
    stack.put_item("pytorch/pytorch/not-a-job", conclusion="failure")
    for key in ("log/1", "log/pytorch/vision/2", "log/3", "log/4", "log/5", "log/6"):
        stack.put_log(key, FAILING_LOG)
    return stack


def digests(stack: Stack) -> dict[str, str | None]:
    return {
        item[KEY_ATTRIBUTE]["S"]: item.get(DIGEST_ATTRIBUTE, {}).get("S")
        for item in stack.all_items()
    }


def test_dry_run_lists_the_selection_newest_first_and_writes_nothing(
    jobs: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    before = jobs.all_items()
    assert main(["backfill", "--dry-run"]) == 0
    out = capsys.readouterr().out
    newest_first = [
        "pytorch/pytorch/4",
        "pytorch/vision/2",
        "pytorch/pytorch/3",
        "pytorch/pytorch/1",
    ]
    assert [out.index(key) for key in newest_first] == sorted(out.index(k) for k in newest_first)
    for skipped in ("pytorch/pytorch/5", "pytorch/pytorch/6", "not-a-job"):
        assert skipped not in out
    assert "stale" in out
    assert "would classify them here" in out
    assert jobs.all_items() == before


def test_classifies_failed_unclassified_and_stale_jobs_only(
    jobs: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--workers", "3"]) == 0
    current = RuleSet.default().digest
    assert digests(jobs) == {
        "pytorch/pytorch/1": current,
        "pytorch/vision/2": current,
        "pytorch/pytorch/3": current,
        "pytorch/pytorch/4": current,
        "pytorch/pytorch/5": current,
        "pytorch/pytorch/6": None,
        "pytorch/pytorch/not-a-job": None,
    }
    out = capsys.readouterr().out
    assert "matched" in out
    assert "pytest failure" in out


def test_limit_takes_the_most_recent(jobs: Stack) -> None:
    assert main(["backfill", "--limit", "2"]) == 0
    current = RuleSet.default().digest
    done = {key for key, digest in digests(jobs).items() if digest == current}
    assert done == {"pytorch/pytorch/4", "pytorch/vision/2", "pytorch/pytorch/5"}


def test_a_missing_log_is_reported_and_the_others_still_classified(
    jobs: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs.s3.delete_object(Bucket="ossci-raw-job-status", Key="log/3")
    assert main(["backfill"]) == 1
    out = capsys.readouterr().out
    assert "failed (404)" in out
    assert digests(jobs)["pytorch/pytorch/1"] == RuleSet.default().digest


def test_queue_mode_enqueues_direct_invocations_and_writes_nothing(jobs: Stack) -> None:
    queue_url = jobs.sqs.create_queue(QueueName="classify-backfill")["QueueUrl"]
    before = jobs.all_items()
    assert main(["backfill", "--queue", queue_url]) == 0
    bodies = []
    while True:
        messages = jobs.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            break
        bodies += [json.loads(m["Body"]) for m in messages]
    assert sorted((b["repo"], b["job_id"]) for b in bodies) == [
        ("pytorch/pytorch", 1),
        ("pytorch/pytorch", 3),
        ("pytorch/pytorch", 4),
        ("pytorch/vision", 2),
    ]
    assert all(b["write"] is True and b["temp_log"] is False for b in bodies)
    assert jobs.all_items() == before


def test_queue_that_does_not_exist_is_a_one_line_error(
    jobs: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"{jobs.sqs.meta.endpoint_url}/123456789012/no-such-queue"
    assert main(["backfill", "--queue", missing]) == 1
    err = capsys.readouterr().err
    assert err.startswith("logsorter: error: SQS SendMessageBatch")
    assert err.count("\n") == 1
