"""Compatibility with the classifier logsorter replaces, on its own corpus
(third-party data beside the checkout; skipped when absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from logsorter import RuleSet
from logsorter.classifier import fixtures as fx
from support.paths import SHARED

COMPAT = SHARED / "compat"
pytestmark = pytest.mark.skipif(not COMPAT.is_dir(), reason="shared compat corpus not present")

CORPUS = sorted((COMPAT / "fixtures").glob("*.txt")) if COMPAT.is_dir() else []
#: Share of the corpus where the default ruleset must land on the marked line.
QUALITY_BAR = 0.8


@pytest.fixture(scope="module")
def upstream() -> RuleSet:
    return RuleSet.from_file(COMPAT / "upstream-ruleset.toml")


def test_corpus_is_complete() -> None:
    assert len(CORPUS) == 26


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_upstream_ruleset_gives_exactly_the_marked_verdict(upstream: RuleSet, path: Path) -> None:
    outcome = fx.parse(path).check(upstream)
    assert not outcome.moved, outcome.describe()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bless_with_upstream_rewrites_the_file_unchanged(upstream: RuleSet, path: Path) -> None:
    """The markers bless writes are the ones the corpus uses, escapes and all."""
    fixture = fx.parse(path)
    bare = fx.Fixture(
        path, fixture.lines, fixture.log_line_indexes, fx.Verdict(None), fixture.ends_with_newline
    )
    assert fx.bless(bare.check(upstream)) == path.read_bytes().decode("utf-8")


def test_default_ruleset_lands_on_the_marked_line_often_enough() -> None:
    default = RuleSet.default()
    outcomes = [fx.parse(path).check(default) for path in CORPUS]
    landed = [o for o in outcomes if o.got.line_num == o.expected.line_num]
    missed = "\n".join(o.describe() for o in outcomes if o not in landed)
    assert len(landed) >= QUALITY_BAR * len(CORPUS), f"{len(landed)}/{len(CORPUS)}:\n{missed}"


def test_bless_with_the_default_ruleset_then_check_is_clean(tmp_path: Path) -> None:
    copy = tmp_path / "corpus"
    shutil.copytree(COMPAT / "fixtures", copy)
    default = RuleSet.default()
    for outcome in fx.check_all(copy, default):
        outcome.fixture.path.write_bytes(fx.bless(outcome).encode("utf-8"))
    moved = [o.describe() for o in fx.check_all(copy, default) if o.moved]
    assert not moved, "\n".join(moved)
