"""``logsorter classify`` as users run it: a separate process, real files, stdin."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from logsorter import RuleSet

RULES = """
[[rule]]
name = "pytest failure"
pattern = '^FAILED (\\S+)::(\\S+)'

[[rule]]
name = "generic error"
pattern = '^error'
"""

LOG = (
    "2024-07-08T16:59:08.1747875Z + python -m pytest\n"
    "2024-07-08T16:59:09.0000000Z error: first\n"
    "2024-07-08T16:59:10.0000000Z + echo done\n"
    "2024-07-08T16:59:11.0000000Z \x1b[31mFAILED test_b.py::test_two - boom\x1b[0m\n"
    "2024-07-08T16:59:12.0000000Z tail\n"
)

PYTEST_FAILURE = {
    "rule": "pytest failure",
    "line": "FAILED test_b.py::test_two - boom",
    "line_num": 4,
    "captures": ["test_b.py", "test_two"],
    "context": ["+ echo done", "+ python -m pytest"],
    "score": 1.0,
}


def logsorter_command() -> str:
    found = shutil.which("logsorter", path=Path(sys.executable).parent)
    assert found is not None, "the logsorter console script is not installed"
    return found


def run(*args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [logsorter_command(), "classify", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def json_output(result: subprocess.CompletedProcess[bytes]) -> Any:
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[bytes], *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == b""
    message = result.stderr.decode()
    assert message.startswith("logsorter: error: ")
    assert message.endswith("\n")
    assert message.count("\n") == 1, message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "job.log"
    path.write_text(LOG, encoding="utf-8")
    return path


def test_json_output_is_the_match_object(rules: Path, log: Path) -> None:
    assert json_output(run(log, "--ruleset", rules)) == PYTEST_FAILURE


def test_no_match_prints_null_and_exits_zero(rules: Path, tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.log"
    quiet.write_text("all good\n", encoding="utf-8")
    assert json_output(run(quiet, "--ruleset", rules)) is None
    assert json_output(run(quiet, "--ruleset", rules, "--all")) == []


def test_all_lists_every_rule_that_matched(rules: Path, log: Path) -> None:
    assert json_output(run(log, "--ruleset", rules, "--all")) == [
        PYTEST_FAILURE,
        {
            "rule": "generic error",
            "line": "error: first",
            "line_num": 2,
            "captures": ["error"],
            "context": ["+ python -m pytest"],
            "score": 1.0,
        },
    ]


def test_context_depth_is_passed_through(rules: Path, log: Path) -> None:
    verdict = json_output(run(log, "--ruleset", rules, "--context-depth", "1"))
    assert verdict["context"] == ["+ echo done"]
    assert json_output(run(log, "--ruleset", rules, "--context-depth", "0"))["context"] == []


def test_negative_context_depth_is_a_usage_error(rules: Path, log: Path) -> None:
    assert_one_line_error(run(log, "--ruleset", rules, "--context-depth", "-1"), "context-depth")


def test_stdin_and_gzip_give_the_same_verdict(rules: Path) -> None:
    from_stdin = json_output(run("-", "--ruleset", rules, stdin=LOG.encode()))
    gzipped = json_output(run("-", "--ruleset", rules, stdin=gzip.compress(LOG.encode())))
    assert from_stdin == gzipped == PYTEST_FAILURE


def test_text_format(rules: Path, log: Path, tmp_path: Path) -> None:
    result = run(log, "--ruleset", rules, "--format", "text")
    assert result.returncode == 0
    text = result.stdout.decode()
    assert "pytest failure" in text
    assert "line 4: FAILED test_b.py::test_two - boom" in text
    assert '["test_b.py", "test_two"]' in text
    assert "+ echo done" in text
    quiet = tmp_path / "quiet.log"
    quiet.write_text("all good\n", encoding="utf-8")
    assert run(quiet, "--ruleset", rules, "--format", "text").stdout == b"no match\n"


def test_default_ruleset_is_used_without_ruleset_option(log: Path) -> None:
    expected = RuleSet.default().classify(LOG)
    assert json_output(run(log)) == (expected and expected.to_dict())


def test_missing_file_is_one_line_on_stderr(rules: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.log"
    assert_one_line_error(run(missing, "--ruleset", rules), str(missing))


def test_a_directory_is_unreadable_input(rules: Path, tmp_path: Path) -> None:
    assert_one_line_error(run(tmp_path, "--ruleset", rules), str(tmp_path))


def test_truncated_gzip_is_one_line_on_stderr(rules: Path, tmp_path: Path) -> None:
    packed = gzip.compress(LOG.encode() * 200)
    truncated = tmp_path / "cut.log.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    assert_one_line_error(run(truncated, "--ruleset", rules), str(truncated), "truncated")


@pytest.mark.parametrize(
    ("ruleset", "fragments"),
    [
        ("[[rule]]\nname = 'broken'\npattern = 'a(b'\n", ('rule 0 ("broken")',)),
        ("[[rule]]\nname = 'a'\npatern = 'x'\n", ("patern",)),
        ("not toml at all [[[\n", ("invalid ruleset",)),
    ],
    ids=["bad-pattern", "unknown-key", "bad-toml"],
)
def test_bad_ruleset_is_one_line_on_stderr(
    log: Path, tmp_path: Path, ruleset: str, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(ruleset, encoding="utf-8")
    assert_one_line_error(run(log, "--ruleset", path), *fragments)


def test_missing_ruleset_file_is_one_line_on_stderr(log: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert_one_line_error(run(log, "--ruleset", missing), str(missing))


def test_baseline_takes_a_passing_runs_lines_out(tmp_path: Path) -> None:
    rules = tmp_path / "fallback.toml"
    rules.write_text(
        "[[rule]]\nname = 'gha'\npattern = '^##\\[error\\](.*)'\n"
        "[fallback]\nenabled = true\ncatch_alls = ['gha']\nmin_score = 0.5\n",
        encoding="utf-8",
    )
    failing = tmp_path / "failing.log"
    failing.write_text(
        "Error: cache service unavailable (503)\nfetch: cannot read the token\n"
        "##[error]Process completed with exit code 1.\n",
        encoding="utf-8",
    )
    passing = tmp_path / "passing.log.gz"
    passing.write_bytes(gzip.compress(b"Error: cache service unavailable (500)\n"))
    alone = json_output(run(failing, "--ruleset", rules))
    against = json_output(run(failing, "--ruleset", rules, "--baseline", passing))
    assert (alone["rule"], alone["line_num"]) == ("located failure", 1)
    assert (against["rule"], against["line_num"], against["captures"]) == (
        "located failure",
        2,
        ["fetch: cannot read the token"],
    )
    assert_one_line_error(run(failing, "--all", "--baseline", passing), "--baseline")


def test_a_reader_that_goes_away_stops_the_command_quietly(tmp_path: Path) -> None:
    """``logsorter classify ... | head``: the pipe is closed before anything
    is written, which is what ``head`` does once it has its lines."""
    log = tmp_path / "build.log"
    log.write_text(LOG)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [logsorter_command(), "classify", "--format", "text", str(log)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == b""
