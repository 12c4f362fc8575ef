"""A reproducible random sample of one rule's verdicts (``logsorter rules
sample``), for reading matched verdicts the way an auditor does: the same
corpus and seed give the same logs, whatever order the corpus was read in."""

from __future__ import annotations

import random
from collections.abc import Sequence

from logsorter.workbench.run import LogResult


def sample_verdicts(
    results: Sequence[LogResult], rule: str, count: int, seed: int
) -> tuple[list[LogResult], int]:
    """Up to ``count`` of the results whose verdict is ``rule``, drawn with
    ``seed`` from them in name order and shown in name order, and how many
    there were."""
    chosen = sorted(
        (r for r in results if r.verdict is not None and r.verdict.rule == rule),
        key=lambda r: r.name,
    )
    drawn = random.Random(seed).sample(chosen, min(count, len(chosen)))
    return sorted(drawn, key=lambda r: r.name), len(chosen)
