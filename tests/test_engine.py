"""The public Python API of the classification engine: ``RuleSet`` and ``Match``."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import logsorter
import pytest
from logsorter import RuleSet

RULES = """
# Highest priority first.
[[rule]]
name = "pytest failure"
pattern = '^FAILED (\\S+)::(\\S+)'

[[rule]]
name = "compile error"
pattern = '^(\\S+):(\\d+):\\d+: error: (.*)$'

[[rule]]
name = "generic error"
pattern = '^error'
"""

LOG = (
    "2024-07-08T16:59:08.1747875Z + python -m pytest\n"
    "2024-07-08T16:59:09.0000000Z \x1b[31merror: first\x1b[0m\n"
    "2024-07-08T16:59:10.0000000Z + echo done\n"
    "2024-07-08T16:59:11.0000000Z FAILED test_a.py::test_one - boom\n"
    "2024-07-08T16:59:12.0000000Z error: second\n"
    "2024-07-08T16:59:13.0000000Z FAILED test_b.py::test_two - boom\n"
    "2024-07-08T16:59:14.0000000Z trailing noise\n"
)


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.from_toml(RULES)


def test_verdict_is_the_highest_priority_rule_at_its_last_line(ruleset: RuleSet) -> None:
    match = ruleset.classify(LOG)
    assert match is not None
    assert match.to_dict() == {
        "rule": "pytest failure",
        "line": "FAILED test_b.py::test_two - boom",
        "line_num": 6,
        "captures": ["test_b.py", "test_two"],
        "context": ["+ echo done", "+ python -m pytest"],
        "score": 1.0,
    }


def test_match_exposes_exactly_the_documented_fields(ruleset: RuleSet) -> None:
    match = ruleset.classify(LOG)
    assert match is not None
    assert list(match.to_dict()) == ["rule", "line", "line_num", "captures", "context", "score"]
    assert match.score == 1.0
    assert (match.rule, match.line_num, match.captures) == (
        "pytest failure",
        6,
        ["test_b.py", "test_two"],
    )
    assert match.line == "FAILED test_b.py::test_two - boom"
    assert match.context == ["+ echo done", "+ python -m pytest"]


def test_matches_compare_by_value_and_have_a_readable_repr(ruleset: RuleSet) -> None:
    first, again = ruleset.classify(LOG), ruleset.classify(LOG.encode())
    assert first is not None
    assert first == again
    assert first != ruleset.classify(LOG, context_depth=1)
    assert repr(first) == (
        'Match(rule="pytest failure", line_num=6, captures=["test_b.py", "test_two"], '
        'line="FAILED test_b.py::test_two - boom")'
    )


def test_classify_all_gives_each_matching_rule_once_in_priority_order(ruleset: RuleSet) -> None:
    matches = ruleset.classify_all(LOG)
    assert [(m.rule, m.line_num, m.captures) for m in matches] == [
        ("pytest failure", 6, ["test_b.py", "test_two"]),
        ("generic error", 5, ["error"]),
    ]
    assert matches[0] == ruleset.classify(LOG)
    assert ruleset.classify_all("nothing here\n") == []


def test_context_depth_limits_the_walk_back(ruleset: RuleSet) -> None:
    def context(depth: int) -> list[str]:
        match = ruleset.classify(LOG, context_depth=depth)
        assert match is not None
        return match.context

    assert context(0) == []
    assert context(1) == ["+ echo done"]
    assert context(100) == ["+ echo done", "+ python -m pytest"]


def test_the_matched_line_itself_counts_as_context() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'traced'\npattern = 'make'\n")
    match = ruleset.classify("+ cd build\nnoise\n+ make all\n")
    assert match is not None
    assert match.context == ["+ make all", "+ cd build"]


def test_pattern_without_groups_captures_the_whole_match() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'oom'\npattern = 'out of \\w+'\n")
    match = ruleset.classify("CUDA out of memory.\n")
    assert match is not None
    assert match.captures == ["out of memory"]


def test_groups_that_take_no_part_are_left_out() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'r'\npattern = '(a)?(b)(c)?'\n")
    match = ruleset.classify("xbx\n")
    assert match is not None
    assert match.captures == ["b"]


def test_rules_and_len_follow_the_file(ruleset: RuleSet) -> None:
    assert ruleset.rules == [
        ("pytest failure", "^FAILED (\\S+)::(\\S+)"),
        ("compile error", "^(\\S+):(\\d+):\\d+: error: (.*)$"),
        ("generic error", "^error"),
    ]
    assert len(ruleset) == 3
    assert repr(ruleset) == f'RuleSet(rules=3, digest="{ruleset.digest}")'


def test_from_file_reads_the_same_ruleset(tmp_path: Path, ruleset: RuleSet) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    assert RuleSet.from_file(path).digest == ruleset.digest
    assert RuleSet.from_file(str(path)).classify(LOG) == ruleset.classify(LOG)


def test_from_file_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        RuleSet.from_file(tmp_path / "missing.toml")


def test_default_ruleset_is_the_packaged_file() -> None:
    packaged = RuleSet.from_file(logsorter.DEFAULT_RULESET_PATH)
    assert RuleSet.default().digest == packaged.digest
    assert RuleSet.default().rules == packaged.rules


def test_digest_ignores_comments_quoting_and_layout() -> None:
    plain = RuleSet.from_toml("[[rule]]\nname = 'a'\npattern = 'x+'\n")
    reformatted = RuleSet.from_toml(
        '# a comment\n\n[[rule]]\n  pattern = "x+"   # trailing comment\n  name = "a"\n'
    )
    assert plain.digest == reformatted.digest
    assert len(plain.digest) == 16
    assert RuleSet.from_toml("[[rule]]\nname = 'a'\npattern = 'x+'\n").digest == plain.digest


@pytest.mark.parametrize(
    "edited",
    [
        "[[rule]]\nname = 'b'\npattern = 'x+'\n",
        "[[rule]]\nname = 'a'\npattern = 'x{2,}'\n",
        "[[rule]]\nname = 'a'\npattern = 'x+'\n[[rule]]\nname = 'c'\npattern = 'y'\n",
        "[[rule]]\nname = 'a'\npattern = 'x+'\n[ignore]\nlines = []\n",
        "[[rule]]\nname = 'a'\npattern = 'x+'\n[ignore]\nregions = []\n",
    ],
    ids=["renamed", "pattern-changed", "rule-added", "ignore-lines", "ignore-regions"],
)
def test_digest_changes_with_every_edit_that_can_change_a_verdict(edited: str) -> None:
    plain = RuleSet.from_toml("[[rule]]\nname = 'a'\npattern = 'x+'\n")
    assert RuleSet.from_toml(edited).digest != plain.digest


def test_digest_depends_on_rule_order() -> None:
    ab = RuleSet.from_toml("[[rule]]\nname='a'\npattern='x'\n[[rule]]\nname='b'\npattern='y'\n")
    ba = RuleSet.from_toml("[[rule]]\nname='b'\npattern='y'\n[[rule]]\nname='a'\npattern='x'\n")
    assert ab.digest != ba.digest


def test_gzip_input_is_detected_by_its_magic(ruleset: RuleSet) -> None:
    assert ruleset.classify(gzip.compress(LOG.encode())) == ruleset.classify(LOG)
    two_members = gzip.compress(LOG[:100].encode()) + gzip.compress(LOG[100:].encode())
    assert ruleset.classify(two_members) == ruleset.classify(LOG)


def test_truncated_gzip_is_a_one_line_value_error(ruleset: RuleSet) -> None:
    packed = gzip.compress(LOG.encode() * 100)
    with pytest.raises(ValueError, match="corrupt gzip input") as caught:
        ruleset.classify(packed[: len(packed) // 2])
    assert "truncated" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="corrupt gzip input"):
        ruleset.classify_all(packed[:-4])


def test_input_that_is_neither_bytes_nor_str_is_a_type_error(ruleset: RuleSet) -> None:
    with pytest.raises(TypeError, match="bytes or str"):
        ruleset.classify(12)  # type: ignore[arg-type]


def test_str_and_bytes_give_the_same_verdict(ruleset: RuleSet) -> None:
    text = LOG + "error: caf\u00e9 \u2603 \U0001f600\n"
    assert ruleset.classify(text) == ruleset.classify(text.encode())
    assert ruleset.classify_all(text) == ruleset.classify_all(text.encode())


def test_invalid_utf8_is_replaced_not_rejected() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'r'\npattern = '^error: (.*)'\n")
    match = ruleset.classify(b"ok\nerror: bad \xff\xfe byte \xe2\x82 and \xed\xa0\x80 end\n")
    assert match is not None
    assert match.line_num == 2
    assert match.captures == ["bad \ufffd\ufffd byte \ufffd and \ufffd\ufffd\ufffd end"]


def test_empty_input_matches_nothing(ruleset: RuleSet) -> None:
    empty_lines = RuleSet.from_toml("[[rule]]\nname = 'empty'\npattern = '^$'\n")
    assert ruleset.classify(b"") is None
    assert ruleset.classify("") is None
    assert empty_lines.classify(b"") is None
    assert empty_lines.classify_all(gzip.compress(b"")) == []
    empty_line = empty_lines.classify("\n")
    assert empty_line is not None
    assert (empty_line.line_num, empty_line.line) == (1, "")


def test_crlf_line_endings_lose_one_carriage_return(ruleset: RuleSet) -> None:
    assert ruleset.classify(LOG.replace("\n", "\r\n")) == ruleset.classify(LOG)
    end_anchored = RuleSet.from_toml("[[rule]]\nname = 'r'\npattern = 'x\\r$'\n")
    match = end_anchored.classify(b"ax\r\r\nbx\r\n")
    assert match is not None
    assert (match.line_num, match.line) == (1, "ax\r")


def test_a_huge_single_line_is_classified() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'tail'\npattern = '(needle \\d+)$'\n")
    line = b"x" * (50 << 20) + b" needle 42"
    match = ruleset.classify(b"+ start\n" + line)
    assert match is not None
    assert (match.line_num, match.captures, match.context) == (2, ["needle 42"], ["+ start"])
    assert len(match.line) == len(line)


def test_ignored_lines_and_regions_never_match_and_keep_line_numbers() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'err'\npattern = 'error|exit code'\n")
    log = (
        "+ build\n"
        "error one\n"
        "##[error]Process completed with exit code 1.\n"
        "=================== sccache compilation log ===================\n"
        "+ hidden\n"
        "error two\n"
        "=========== If your build fails, please take a look at the log above for possible"
        " reasons ===========\n"
        "fine\n"
    )
    match = ruleset.classify(log)
    assert match is not None
    assert (match.line_num, match.line, match.context) == (2, "error one", ["+ build"])


def test_ignore_table_overrides_the_default_ignores() -> None:
    log = "error kept\n##[error]Process completed with exit code 1.\nSKIP error\n"
    ruleset = RuleSet.from_toml(
        "[[rule]]\nname = 'err'\npattern = 'error'\n"
        "[ignore]\nlines = ['^SKIP']\nregions = [{start = '^BEGIN$', end = '^END$'}]\n"
    )
    match = ruleset.classify(log)
    assert match is not None
    assert match.line_num == 2
    in_region = ruleset.classify("error a\nBEGIN\nerror b\nEND\nok\n")
    assert in_region is not None
    assert in_region.line_num == 1
    unterminated = ruleset.classify("error a\nBEGIN\nerror b\n")
    assert unterminated is not None
    assert unterminated.line_num == 1


def test_an_ignored_line_neither_opens_nor_closes_a_region() -> None:
    ruleset = RuleSet.from_toml(
        "[[rule]]\nname = 'err'\npattern = 'error'\n"
        "[ignore]\nlines = ['^SKIP']\nregions = [{start = 'BEGIN', end = 'END'}]\n"
    )
    not_opened = ruleset.classify("SKIP BEGIN\nerror after\n")
    assert not_opened is not None
    assert not_opened.line_num == 2
    still_open = ruleset.classify("BEGIN\nSKIP END\nerror inside\nEND\nok\n")
    assert still_open is None


def test_a_region_closes_on_a_later_line_even_when_one_pattern_opens_and_closes_it() -> None:
    ruleset = RuleSet.from_toml(
        "[[rule]]\nname = 'err'\npattern = 'error'\n"
        "[ignore]\nregions = [{start = '^fence', end = 'fence'}]\n"
    )
    match = ruleset.classify("error one\nfence\nerror two\nfence\nok\n")
    assert match is not None
    assert match.line_num == 1


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[[rule]]\nname = 'ok'\npattern = 'x'\n[[rule]]\nname = 'broken'\npattern = 'a(b'\n",
            'rule 1 ("broken")',
        ),
        ("[[rule]]\nname = 'look'\npattern = 'a(?=b)'\n", 'rule 0 ("look")'),
        ("[[rule]]\nname = 'class'\npattern = '[z-a]'\n", 'rule 0 ("class")'),
        ("[[rule]]\nname = 'a'\npattern = 'x'\n[ignore]\nlines = ['(']\n", "ignore.lines[0]"),
        ("[[rule]]\nname = 'a'\npatern = 'x'\n", "unknown field `patern`"),
        ("[[rule]]\nname = 'a'\n", "missing field `pattern`"),
        ("[[rule]\nname = 'a'\n", "invalid ruleset"),
        ("[[rule]]\nname = 'any'\npattern = 'x*'\n", 'rule 0 ("any"): "x*" matches every line'),
        (
            "[[rule]]\nname = 'a'\npattern = 'x'\n[ignore]\nlines = ['']\n",
            'ignore.lines[0]: "" would drop every line',
        ),
        ("[ignore]\nlines = ['^skip']\n", "no rules"),
        ("[[rule]]\nname = ' '\npattern = 'x'\n", "rule 0 has an empty name"),
    ],
    ids=[
        "unclosed-group",
        "look-ahead",
        "bad-range",
        "ignore-pattern",
        "typo",
        "missing",
        "toml",
        "every-line",
        "drops-every-line",
        "no-rules",
        "empty-name",
    ],
)
def test_bad_ruleset_is_a_one_line_value_error_naming_the_culprit(toml: str, expected: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid ruleset") as caught:
        RuleSet.from_toml(toml)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_classify_releases_the_gil() -> None:
    """Another Python thread keeps running while a long classification does.

    The watcher wakes from a short sleep over and over; each wake-up needs the
    GIL. If ``classify`` held it, the watcher could wake at most a couple of
    times around the call's edges, however long the call ran.
    """
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'late'\npattern = '^never (\\w+) here$'\n")
    log = b"2024-07-08T16:59:08.1747875Z \x1b[1mprogress\x1b[0m line of a busy build\n" * (1 << 21)
    in_call = threading.Event()
    done = threading.Event()
    wakeups_during_call = 0

    def watch() -> None:
        nonlocal wakeups_during_call
        while not done.is_set():
            done.wait(0.001)
            if in_call.is_set():
                wakeups_during_call += 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        in_call.set()
        verdict = ruleset.classify(log)
        in_call.clear()
    finally:
        done.set()
        watcher.join()
    assert verdict is None
    assert wakeups_during_call > 20


def test_a_large_log_gives_the_same_verdicts_on_any_number_of_threads() -> None:
    ruleset = RuleSet.from_toml(
        "[[rule]]\nname = 'fail'\npattern = '^FAILED (\\S+)'\n"
        "[[rule]]\nname = 'error'\npattern = 'error: (\\w+)'\n"
        "[[rule]]\nname = 'plus'\npattern = '^\\+ make'\n"
    )
    filler = "2024-01-01T00:00:00.0000000Z step output \x1b[32mok\x1b[0m\n" * 100_000
    pieces = [
        filler,
        "+ make all\nerror: first\n",
        filler,
        "=================== sccache compilation log ===================\n",
        filler,
        "error: inside_region\n",
        "=========== If your build fails, please take a look at the log above for "
        "possible reasons ===========\n",
        "FAILED test_a\n",
        filler,
        "2024-01-01T00:00:00.0000000Z \x1b[1mFAILED\x1b[0m test_b\r\n",
        filler,
    ]
    log = "".join(pieces).encode()
    assert len(log) > 24 << 20, "large enough to be split over threads"
    verdicts = {}
    for threads in (1, 2, 3):
        verdicts[threads] = [m.to_dict() for m in ruleset.classify_all(log, threads=threads)]
    assert verdicts[1] == verdicts[2] == verdicts[3]
    assert [v["captures"] for v in verdicts[1]] == [["test_b"], ["first"], ["+ make"]]
