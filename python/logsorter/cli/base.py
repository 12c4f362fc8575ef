"""What the subcommands share: errors, input and ruleset loading."""

from __future__ import annotations

import sys
from pathlib import Path

from logsorter import RuleSet
from logsorter.rulesets import load_ruleset

#: Exit code for usage errors and unreadable input, as argparse uses.
USAGE_EXIT = 2


class CommandError(Exception):
    """A failure to report as one line on stderr, without a traceback."""

    def __init__(self, message: str, exit_code: int = USAGE_EXIT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def ruleset_option(path: str | None) -> RuleSet:
    """The ruleset a ``--ruleset`` option names, or the packaged default."""
    try:
        return load_ruleset(path)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from err


def read_input(path: str) -> bytes:
    """The bytes of a file, or of stdin for ``-``."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as err:
        raise CommandError(f"{path}: {err.strerror or err}") from err
