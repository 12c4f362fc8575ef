"""`lint_rules` and the engine agree on which patterns are slow: a rule is
reported `no-literal` exactly when the engine has no literal to search for
it, so that it is tried on every line."""

from __future__ import annotations

from pathlib import Path

import pytest
from logsorter import DEFAULT_RULESET_PATH, RuleSet
from logsorter._core import lint_rules, required_literals
from support.paths import SHARED

UPSTREAM = SHARED / "compat" / "upstream-ruleset.toml"


@pytest.mark.parametrize(
    "path",
    [
        Path(DEFAULT_RULESET_PATH),
        pytest.param(
            UPSTREAM,
            marks=pytest.mark.skipif(not UPSTREAM.is_file(), reason="shared compat corpus absent"),
        ),
    ],
    ids=["default", "upstream"],
)
def test_no_literal_is_reported_exactly_for_the_rules_without_required_literals(
    path: Path,
) -> None:
    rules = RuleSet.from_file(path).rules
    warned = [index for index, _, code, _ in lint_rules(rules) if code == "no-literal"]
    unsearched = [
        index for index, (_, pattern) in enumerate(rules) if required_literals(pattern) is None
    ]
    assert warned == unsearched


def test_literals_too_short_to_search_for_are_reported() -> None:
    assert required_literals(r"^ab\d+$") is None
    assert [code for _, _, code, _ in lint_rules([("short", r"^ab\d+$")])] == ["no-literal"]
    assert required_literals(r"^FAILED (\S+)") == [b"FAILED "]
