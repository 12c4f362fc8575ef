"""logsorter: classify CI logs and collate phone logs that land in S3."""

from importlib.resources import files

from logsorter._core import (
    CorruptInputError,
    InputTooLargeError,
    Match,
    RuleSet,
    RuleSetError,
    __version__,
)

#: The default ruleset shipped with the package (``RuleSet.default()`` compiles
#: the same text, embedded in the native module).
DEFAULT_RULESET_PATH = str(files(__name__) / "ruleset.toml")

__all__ = [
    "DEFAULT_RULESET_PATH",
    "CorruptInputError",
    "InputTooLargeError",
    "Match",
    "RuleSet",
    "RuleSetError",
    "__version__",
]
