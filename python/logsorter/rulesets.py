"""The engine's defaults and the one way a ruleset is loaded, shared by the
command line and the functions."""

from __future__ import annotations

import os

from logsorter import RuleSet

#: How many shell-trace lines a verdict carries as context, the engine's
#: default (``RuleSet.classify``).
DEFAULT_CONTEXT_DEPTH = 12


def load_ruleset(path: str | os.PathLike[str] | None) -> RuleSet:
    """The ruleset compiled from the TOML file at ``path``, or the packaged
    default. Raises ``OSError`` or ``ValueError`` when it does not load."""
    return RuleSet.default() if path is None else RuleSet.from_file(path)
