"""The ``logsorter`` command line.

Each subcommand lives in its own module with a ``register(subparsers)``
function; heavy imports happen inside the command, so ``logsorter --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from logsorter import __version__
from logsorter.cli.base import CommandError

#: Modules of ``logsorter.cli`` that register a subcommand, in help order.
COMMANDS = (
    "classify",
    "collate",
    "forget",
    "rebuild",
    "sample",
    "backfill",
    "invoke",
    "rules",
    "fixtures",
    "corpus",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logsorter",
        description="Classify CI logs and collate phone logs that land in S3.",
    )
    parser.add_argument("--version", action="version", version=f"logsorter {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"logsorter.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except CommandError as err:
        print(f"logsorter: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("logsorter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`logsorter ... | head`): stop quietly, as
        # other commands do, with the status a SIGPIPE would give. Output
        # still buffered is dropped, so that flushing it at exit cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
