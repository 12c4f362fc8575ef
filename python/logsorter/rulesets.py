"""The engine's defaults and the one way a ruleset is loaded, shared by the
command line and the functions."""

from __future__ import annotations

import os

from logsorter import RuleSet
from logsorter._core import DEFAULT_CONTEXT_DEPTH

__all__ = ["DEFAULT_CONTEXT_DEPTH", "load_ruleset"]


def load_ruleset(path: str | os.PathLike[str] | None) -> RuleSet:
    """The ruleset compiled from the TOML file at ``path``, or the packaged
    default. Raises ``OSError`` or ``RuleSetError`` when it does not load."""
    return RuleSet.default() if path is None else RuleSet.from_file(path)
