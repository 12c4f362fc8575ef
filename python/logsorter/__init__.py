"""logsorter: classify CI logs and collate phone logs that land in S3."""

import os

from logsorter._core import (
    CorruptInputError,
    InputTooLargeError,
    Match,
    RuleSet,
    RuleSetError,
    __version__,
)

#: The default ruleset shipped with the package (``RuleSet.default()`` compiles
#: the same text, embedded in the native module). A plain path, not
#: ``importlib.resources``: the package is never zipped (it holds a native
#: module), and that import is a sixth of a cold start's own cost.
DEFAULT_RULESET_PATH = os.path.join(os.path.dirname(__file__), "ruleset.toml")

__all__ = [
    "DEFAULT_RULESET_PATH",
    "CorruptInputError",
    "InputTooLargeError",
    "Match",
    "RuleSet",
    "RuleSetError",
    "__version__",
]
