"""``logsorter fixtures check|bless``: regression fixtures against a ruleset."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from logsorter.classifier import fixtures
from logsorter.cli.base import CommandError, read_input, ruleset_option

#: Exit code of ``check`` when a fixture's verdict moved, and of ``add``
#: when the excerpt's verdict is not the line asked for.
MOVED_EXIT = 1
#: What a fixture's file name may be made of.
NAME = re.compile(r"[A-Za-z0-9_-]+")


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
    add = actions.add_parser(
        "add",
        help="cut a fixture around a verdict line of a log, and bless it",
        description=(
            "Cut the lines around line N of LOG (plain or gzip) into DIR/NAME.txt, keeping the "
            "lines above it (the confusers a rule must pass over), and bless it. Exits 1 when "
            "the ruleset's verdict on the excerpt is not line N (widen --before/--after, or fix "
            "the ruleset and bless again)."
        ),
    )
    add.add_argument("log", metavar="LOG")
    add.add_argument("--line", type=int, required=True, metavar="N", help="the verdict's line")
    add.add_argument("--name", required=True, metavar="NAME", help="file name, without .txt")
    add.add_argument("--dir", default="tests/fixtures/logs", metavar="DIR")
    add.add_argument("--before", type=int, default=30, metavar="N", help="default: 30")
    add.add_argument("--after", type=int, default=5, metavar="N", help="default: 5")
    add.add_argument("--ruleset", metavar="PATH", help="ruleset TOML (default: packaged)")
    add.set_defaults(run=run_add)


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
        write_whole(outcome.fixture.path, text)
        print(f"blessed {outcome.describe()}")
    print(f"{len(results)} fixtures, {len(rewrites)} blessed")
    return 0


def write_whole(path: Path, text: str) -> None:
    """``text`` into ``path`` through a rename, so that a reader never sees
    half of it."""
    staging = path.with_name(f".{path.name}.blessing")
    try:
        staging.write_bytes(text.encode("utf-8"))
        staging.replace(path)
    except OSError as err:
        raise CommandError(f"{path}: {err.strerror or err}") from err


def run_add(args: argparse.Namespace) -> int:
    from logsorter import CorruptInputError
    from logsorter._core import decode_log

    if not NAME.fullmatch(args.name):
        raise CommandError(f"--name {args.name!r}: letters, digits, '_' and '-' only")
    if args.before < 0 or args.after < 0:
        raise CommandError("--before and --after must be 0 or more")
    directory = Path(args.dir)
    if not directory.is_dir():
        raise CommandError(f"--dir {directory}: not a directory")
    path = directory / f"{args.name}.txt"
    if path.exists():
        raise CommandError(f"{path} exists; choose another --name")
    ruleset = ruleset_option(args.ruleset)
    try:
        text = decode_log(read_input(args.log))
        cut, first = fixtures.excerpt(text, args.line, args.before, args.after, args.log)
    except (CorruptInputError, fixtures.FixtureError) as err:
        raise CommandError(f"{args.log}: {err}") from err
    write_whole(path, cut)
    try:
        outcome = fixtures.parse(path).check(ruleset)
        write_whole(path, fixtures.bless(outcome))
    except fixtures.FixtureError as err:
        path.unlink()
        raise CommandError(str(err)) from err
    got = outcome.got.line_num
    if got is None:
        print(f"{path}: no verdict on the excerpt; blessed as expecting none")
        return MOVED_EXIT
    rule = outcome.match.rule if outcome.match else ""
    landed = first + got - 1
    print(f"{path}: log line {landed} -> fixture line {got}, rule {rule!r}")
    if landed != args.line:
        print(f"the verdict is not line {args.line}: widen --before/--after or fix the ruleset")
        return MOVED_EXIT
    return 0
