"""``logsorter corpus pull`` and S3 corpora against the moto server: jobs
picked from the jobs table by conclusion and completion time, logs under
both key layouts, a pull that resumes, and ``rules stats`` on a bucket
prefix and on the pulled corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from classifier_stack import FAILING_LOG, LOG_BUCKET, PASSING_LOG, TABLE, Stack
from logsorter.cli import main
from logsorter.workbench.pull import since_timestamp

pytestmark = pytest.mark.integration

RECENT = "2026-11-30T10:00:00Z"


@pytest.fixture
def jobs(stack: Stack) -> Stack:
    """Jobs of mixed conclusions and ages, their logs under both layouts."""
    stack.put_item(
        "pytorch/pytorch/11", name="linux-test", conclusion="failure", completed_at=RECENT
    )
    stack.put_item(
        "pytorch/vision/12", name="vision-test", conclusion="failure", completed_at=RECENT
    )
    stack.put_item("pytorch/pytorch/13", name="lint", conclusion="success", completed_at=RECENT)
    stack.put_item(
        "pytorch/pytorch/14", name="old", conclusion="failure", completed_at="2026-01-01T00:00:00Z"
    )
    stack.put_item("pytorch/pytorch/15", name="no-log", conclusion="failure", completed_at=RECENT)
    stack.put_item("pytorch/pytorch/16", name="running", conclusion="failure", started_at=RECENT)
    for key in ("log/11", "log/pytorch/vision/12", "log/14", "log/16"):
        stack.put_log(key, FAILING_LOG)
    stack.put_log("log/13", PASSING_LOG)
    return stack


def pull(out: Path, *args: str) -> list[str]:
    return ["corpus", "pull", "--bucket", LOG_BUCKET, "--out", str(out), *args]


def read_jobs(out: Path) -> dict[str, dict[str, str]]:
    lines = (out / "jobs.jsonl").read_text().splitlines()
    return {job["key"]: job for job in map(json.loads, lines)}


def test_pull_picks_jobs_from_the_table_and_resumes(
    jobs: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    table = ["--table", TABLE, "--conclusion", "failure", "--since", "2026-11-01"]
    assert main(pull(out, *table)) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("4 logs: 3 downloaded (")
    assert ", 0 already there, 1 not in the bucket, 0 failed" in summary
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "jobs.jsonl",
        "log/11",
        "log/16",
        "log/pytorch/vision/12",
    ]
    assert read_jobs(out) == {
        "log/11": {
            "key": "log/11",
            "job": "pytorch/pytorch/11",
            "name": "linux-test",
            "conclusion": "failure",
            "finished_at": RECENT,
        },
        "log/16": {
            "key": "log/16",
            "job": "pytorch/pytorch/16",
            "name": "running",
            "conclusion": "failure",
            "finished_at": RECENT,
        },
        "log/pytorch/vision/12": {
            "key": "log/pytorch/vision/12",
            "job": "pytorch/vision/12",
            "name": "vision-test",
            "conclusion": "failure",
            "finished_at": RECENT,
        },
    }
    # Again, with every conclusion: what is there is skipped, jobs.jsonl grows.
    assert main(pull(out, "--table", TABLE, "--since", "2026-11-01")) == 0
    assert capsys.readouterr().out.startswith("5 logs: 1 downloaded (")
    assert read_jobs(out)["log/13"]["conclusion"] == "success"
    assert len(read_jobs(out)) == 4
    # The pulled corpus knows which job passed.
    assert main(["rules", "stats", "--format", "json", str(out)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["summary"]["conclusions"] == {"failure": 3, "success": 1}
    assert stats["summary"]["specific"]["logs"] == 3
    pytest_rule = next(r for r in stats["rules"] if r["verdicts"])
    assert (pytest_rule["matches"], pytest_rule["on_success"]) == (3, 0)


def test_pull_a_prefix_with_a_limit(
    jobs: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    assert main(pull(out, "--prefix", "log/pytorch/", "--limit", "1")) == 0
    assert capsys.readouterr().out.startswith("1 logs: 1 downloaded (")
    assert (out / "log/pytorch/vision/12").is_file()
    assert not (out / "jobs.jsonl").exists()
    assert main(pull(out, "--since", "7d")) == 2
    assert "--conclusion and --since select jobs of --table" in capsys.readouterr().err


def test_stats_and_diff_read_an_s3_prefix(
    jobs: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs.s3.put_object(Bucket=LOG_BUCKET, Key="log/17", Body=b"\x1f\x8b\x08\x00broken")
    url = f"s3://{LOG_BUCKET}/log/"
    assert main(["rules", "stats", "--format", "json", url]) == 0
    captured = capsys.readouterr()
    stats = json.loads(captured.out)
    summary = stats["summary"]
    assert summary["logs"] == 6
    assert (summary["specific"]["logs"], summary["none"]["logs"], summary["error"]["logs"]) == (
        4,
        1,
        1,
    )
    assert f"{url}17: corrupt gzip input" in captured.err
    assert summary["peak_rss_bytes"] > 0
    rules = tmp_path / "one.toml"
    rules.write_text("[[rule]]\nname = 'any FAILED'\npattern = 'FAILED'\n")
    assert main(["rules", "diff", "--format", "json", "--base", str(rules), url]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["changed"] == 4
    assert [t["from"] for t in diff["transitions"]] == ["any FAILED"]
    assert main(["rules", "stats", f"s3://{LOG_BUCKET}/nothing-here/"]) == 2
    assert "no logs in" in capsys.readouterr().err


def test_since_takes_an_age_or_a_date() -> None:
    now = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    assert since_timestamp("7d", now) == "2026-11-26T10:30:00Z"
    assert since_timestamp("12h", now) == "2026-12-02T22:30:00Z"
    assert since_timestamp("2026-11-01", now) == "2026-11-01T00:00:00Z"
    with pytest.raises(ValueError, match="expected an age"):
        since_timestamp("last week", now)
