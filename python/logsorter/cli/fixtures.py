"""``logsorter fixtures check|bless``: regression fixtures against a ruleset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from logsorter.classifier import fixtures
from logsorter.cli.base import CommandError, ruleset_option

#: Exit code of ``check`` when a fixture's verdict moved.
MOVED_EXIT = 1


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "fixtures",
        help="check or bless regression fixtures",
        description=(
            "Regression fixtures are CI log excerpts (*.txt) with the expected verdict marked "
            "in-band: '#=MATCH=# ' before the expected line, captures wrapped in angle quotes, "
            "'#=SOURCE=#' comment lines."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, run, help_text in (
        ("check", run_check, "list fixtures whose verdict moved; exit 1 if any did"),
        ("bless", run_bless, "rewrite the markers to the current verdicts"),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("directory", metavar="DIR", help="directory of fixture files")
        action.add_argument("--ruleset", metavar="PATH", help="ruleset TOML (default: packaged)")
        action.set_defaults(run=run)


def outcomes(args: argparse.Namespace) -> list[fixtures.Outcome]:
    ruleset = ruleset_option(args.ruleset)
    try:
        return list(fixtures.check_all(Path(args.directory), ruleset))
    except fixtures.FixtureError as err:
        raise CommandError(str(err)) from err


def run_check(args: argparse.Namespace) -> int:
    results = outcomes(args)
    moved = [o for o in results if o.moved]
    for outcome in moved:
        print(outcome.describe())
    print(f"{len(results)} fixtures, {len(moved)} moved")
    return MOVED_EXIT if moved else 0


def run_bless(args: argparse.Namespace) -> int:
    results = outcomes(args)
    # Render every fixture before writing any, so a fixture that cannot be
    # blessed leaves the whole directory as it was.
    try:
        rewrites = [(o, fixtures.bless(o)) for o in results if o.moved]
    except fixtures.FixtureError as err:
        raise CommandError(str(err)) from err
    for outcome, text in rewrites:
        path = outcome.fixture.path
        staging = path.with_name(f".{path.name}.blessing")
        try:
            staging.write_bytes(text.encode("utf-8"))
            staging.replace(path)
        except OSError as err:
            raise CommandError(f"{path}: {err.strerror or err}") from err
        print(f"blessed {outcome.describe()}")
    print(f"{len(results)} fixtures, {len(rewrites)} blessed")
    return 0
