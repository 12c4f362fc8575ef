"""Three implementations, one answer: the one-pass engine (``RuleSet.classify``),
the naive Rust scan (``_core.naive_classify``) and the plain-``re`` baseline
(``benches/baseline_re.py``) must reach the same verdict on generated logs and
rulesets, and on the real CI logs of the shared corpus."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from baseline_re import BaselineMatch, BaselineRuleSet
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from logsorter import Match, RuleSet, _core
from logsorter.classifier.fixtures import parse
from logsorter.rulesets import DEFAULT_CONTEXT_DEPTH

#: Third-party data beside the checkout (CI logs, the upstream rule file).
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
UPSTREAM_RULESET = SHARED / "compat" / "upstream-ruleset.toml"
BENCH_LOGS = sorted((SHARED / "bench").glob("*.gz"))
COMPAT_FIXTURES = sorted((SHARED / "compat" / "fixtures").glob("*.txt"))

SCCACHE_START = "=================== sccache compilation log ==================="
SCCACHE_END = (
    "=========== If your build fails, please take a look at the log above"
    " for possible reasons ==========="
)

# Pieces of log lines, as raw bytes so that invalid UTF-8 can be among them.
# Characters where Rust's and Python's Unicode tables differ (U+001C..U+001F
# for \s, combining marks for \w) are left out: the baseline cannot agree there.
TEXT_PIECES = [
    "error: boom",
    "error",
    "ERROR",
    "Error: X",
    "FAILED test_a.py::test_one",
    "FAILED",
    "make all",
    "exit code 1",
    "boom 42",
    "build",
    "test_x",
    " ",
    "  ",
    "\t",
    "\u00a0",
    "x",
    "x" * 70,
    "caf\u00e9 \u2603",
    "\U0001f600",
    "\u0662\u0660",
    "\r",
    "]",
    "(",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[1;2 ~",
    "\x1b[",
    "\x1b[12",
    "\x1bM",
    "\x1b",
    "\x1bz",
    "\x9b31m",
    "\x9b",
    "\x85",
    "\x9c",
    "\x9f",
]
INVALID_UTF8 = [b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\x80", b"\xc2", b"\xf0\x9f\x98"]
PIECES = st.sampled_from([p.encode() for p in TEXT_PIECES] + INVALID_UTF8)

TIMESTAMPS = [
    "2024-07-08T16:59:08.1747875Z ",
    "2024-07-08T16:59:08.174787Z ",
    "\u0662\u0660\u0662\u0664-07-08T16:59:08.1747875Z ",
    " 2024-07-08T16:59:08.1747875Z ",
]
WHOLE_LINES = [
    "",
    "+ make all",
    "+ cd build",
    "+",
    "##[error]Process completed with exit code 1.",
    "##[error]Process completed with exit code 137",
    "[OSDC] Step script exited with error",
    SCCACHE_START,
    SCCACHE_END,
    "BEGIN",
    "END",
    "SKIP error",
]


@st.composite
def log_lines(draw: st.DrawFn) -> bytes:
    prefix = draw(st.sampled_from(["", *TIMESTAMPS])).encode()
    body = draw(
        st.one_of(
            st.sampled_from([line.encode() for line in WHOLE_LINES]),
            st.lists(PIECES, max_size=6).map(b"".join),
        )
    )
    suffix = draw(st.sampled_from([b"", b"", b"\r", b"\r\r"]))
    return prefix + body + suffix


@st.composite
def logs(draw: st.DrawFn) -> bytes | str:
    lines = draw(st.lists(log_lines(), max_size=25))
    raw = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
    shape = draw(st.sampled_from(["bytes", "gzip", "str"]))
    if shape == "gzip":
        return gzip.compress(raw)
    if shape == "str":
        return raw.decode("utf-8", errors="replace")
    return raw


PATTERN_ATOMS = [
    "error",
    "FAILED",
    "make",
    "exit code",
    "boom",
    "build",
    "test_",
    "caf\u00e9",
    "\u2603",
    "x",
    " ",
    r"\s",
    r"\s+",
    r"\S+",
    r"\d+",
    r"\w+",
    r"[^x]",
    r"[^ ]+",
    r"[a-z]+",
    ".",
    ".*",
    ".+?",
    r"\+",
    r"\(",
    r"\]",
    r"\r",
    r"\b",
    "(?i:error)",
    "(?i:failed)",
]
#: Patterns that match empty lines, or nearly every line (patterns that match
#: every line do not load).
DEGENERATE_PATTERNS = ["^$", r"^\s*$", "^(x)?$", r"\b"]


def loads(pattern: str) -> bool:
    """Whether a rule of ``pattern`` loads: it does not match every line."""
    return all(code != "matches-every-line" for _, _, code, _ in _core.lint_rules([("r", pattern)]))


@st.composite
def patterns(draw: st.DrawFn, depth: int = 2) -> str:
    def piece() -> str:
        if depth == 0 or draw(st.integers(0, 3)) > 0:
            return draw(st.sampled_from(PATTERN_ATOMS))
        inner = draw(patterns(depth=depth - 1))
        kind = draw(st.sampled_from(["group", "optional", "alternation", "capturing-alt"]))
        if kind == "group":
            return f"({inner})"
        if kind == "optional":
            return f"({inner})?"
        other = draw(patterns(depth=depth - 1))
        return f"(?:{inner}|{other})" if kind == "alternation" else f"({inner}|{other})"

    body = "".join(piece() for _ in range(draw(st.integers(1, 3))))
    start = draw(st.sampled_from(["", "", "^"]))
    end = draw(st.sampled_from(["", "", "$"]))
    return start + body + end


def toml_string(text: str) -> str:
    """A TOML literal string: no escapes to get wrong between the two parsers."""
    assert "'''" not in text
    return f"'''{text}'''"


@st.composite
def rulesets(draw: st.DrawFn) -> str:
    rules = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "c", "d"]),
                st.one_of(patterns().filter(loads), st.sampled_from(DEGENERATE_PATTERNS)),
                st.sampled_from(["", "occurrence = 'first'\n", "occurrence = 'last'\n"]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    toml = "".join(
        f"[[rule]]\nname = '{name}'\npattern = {toml_string(pattern)}\n{occurrence}"
        for name, pattern, occurrence in rules
    )
    if draw(st.booleans()):
        return toml
    lines = draw(st.lists(st.sampled_from(["^SKIP", "exit code", "^$", r"\[OSDC\]"]), max_size=2))
    regions = draw(
        st.lists(
            st.sampled_from([("BEGIN", "END"), ("^BEGIN$", "^END$"), ("x", "x"), ("make", "^$")]),
            max_size=2,
        )
    )
    table = [f"lines = [{', '.join(toml_string(p) for p in lines)}]"] if draw(st.booleans()) else []
    if draw(st.booleans()):
        entries = ", ".join(
            f"{{start = {toml_string(s)}, end = {toml_string(e)}}}" for s, e in regions
        )
        table.append(f"regions = [{entries}]")
    return toml + "[ignore]\n" + "".join(f"{entry}\n" for entry in table)


def as_dict(match: Match | BaselineMatch | None) -> dict[str, Any] | None:
    return None if match is None else dict(match.to_dict())


def verdicts_of_all_three(
    toml: str, data: bytes | str, depth: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    engine = RuleSet.from_toml(toml)
    baseline = BaselineRuleSet.from_toml(toml)
    return (
        as_dict(engine.classify(data, depth)),
        as_dict(_core.naive_classify(engine, data, depth)),
        as_dict(baseline.classify(data, depth)),
    )


def all_verdicts(matches: list[Match] | list[BaselineMatch]) -> list[dict[str, Any] | None]:
    return [as_dict(m) for m in matches]


# Corners that random drawing reaches only rarely.
REGION_OPENED_AND_CLOSED_BY_ONE_PATTERN = dict(
    toml="[[rule]]\nname = 'a'\npattern = 'error'\n"
    "[ignore]\nregions = [{start = 'x', end = 'x'}]\n",
    data=b"x\nerror inside\nx\nok\n",
    depth=DEFAULT_CONTEXT_DEPTH,
)
TRACED_LINE_IS_ITS_OWN_CONTEXT = dict(
    toml="[[rule]]\nname = 'a'\npattern = 'make'\n",
    data=b"+ cd build\n+ make all\nerror\n",
    depth=1,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml=rulesets(), data=logs(), depth=st.sampled_from([0, 1, 3, DEFAULT_CONTEXT_DEPTH]))
@example(**REGION_OPENED_AND_CLOSED_BY_ONE_PATTERN)
@example(**TRACED_LINE_IS_ITS_OWN_CONTEXT)
def test_engine_naive_scan_and_baseline_agree(toml: str, data: bytes | str, depth: int) -> None:
    engine, naive, baseline = verdicts_of_all_three(toml, data, depth)
    event("match" if baseline else "no match")
    assert engine == baseline
    assert naive == baseline


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml=rulesets(), data=logs(), depth=st.sampled_from([0, 2, DEFAULT_CONTEXT_DEPTH]))
def test_classify_all_agrees_with_the_baseline(toml: str, data: bytes | str, depth: int) -> None:
    engine = RuleSet.from_toml(toml).classify_all(data, depth)
    baseline = BaselineRuleSet.from_toml(toml).classify_all(data, depth)
    assert all_verdicts(engine) == all_verdicts(baseline)


def shared_paths(paths: list[Path]) -> list[Any]:
    if not paths or not UPSTREAM_RULESET.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED} is absent"))]
    return [pytest.param(path, id=path.name) for path in paths]


@pytest.fixture(scope="module")
def upstream() -> tuple[RuleSet, BaselineRuleSet]:
    return RuleSet.from_file(UPSTREAM_RULESET), BaselineRuleSet.from_file(UPSTREAM_RULESET)


def assert_all_three_agree(rulesets: tuple[RuleSet, BaselineRuleSet], data: bytes | str) -> None:
    engine, baseline = rulesets
    expected = as_dict(baseline.classify(data))
    assert as_dict(engine.classify(data)) == expected
    assert as_dict(_core.naive_classify(engine, data)) == expected
    assert all_verdicts(engine.classify_all(data)) == all_verdicts(baseline.classify_all(data))


@pytest.mark.parametrize("path", shared_paths(BENCH_LOGS))
def test_real_ci_logs_agree(path: Path, upstream: tuple[RuleSet, BaselineRuleSet]) -> None:
    assert_all_three_agree(upstream, path.read_bytes())


@pytest.mark.parametrize("path", shared_paths(COMPAT_FIXTURES))
def test_compat_fixtures_agree(path: Path, upstream: tuple[RuleSet, BaselineRuleSet]) -> None:
    assert_all_three_agree(upstream, parse(path).log)
