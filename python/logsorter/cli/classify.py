"""``logsorter classify``: classify one log file and print the verdict."""

from __future__ import annotations

import argparse
import json
from typing import Any

from logsorter import Match
from logsorter.cli.base import CommandError, read_input, ruleset_option
from logsorter.rulesets import DEFAULT_CONTEXT_DEPTH


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "classify",
        help="classify a CI log (plain or gzip) and print the verdict",
        description="Classify a CI log and print the verdict. Exits 0 whether or not it matched.",
    )
    parser.add_argument("file", metavar="FILE|-", help="log file, plain or gzip; - for stdin")
    parser.add_argument("--ruleset", metavar="PATH", help="ruleset TOML (default: packaged)")
    parser.add_argument("--context-depth", type=int, default=DEFAULT_CONTEXT_DEPTH, metavar="N")
    parser.add_argument(
        "--all",
        action="store_true",
        help="every rule's match (its last, or its first for occurrence = 'first')",
    )
    parser.add_argument(
        "--baseline",
        metavar="PASS_LOG",
        help="log of a passing run of the same job (plain or gzip): its lines are not the failure",
    )
    parser.add_argument("--format", choices=("json", "text"), default="json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.context_depth < 0:
        raise CommandError("--context-depth must be 0 or more")
    if args.all and args.baseline:
        raise CommandError("--baseline applies to the verdict, not to --all")
    ruleset = ruleset_option(args.ruleset)
    data = read_input(args.file)
    baseline = read_input(args.baseline) if args.baseline else None
    try:
        result: Match | list[Match] | None = (
            ruleset.classify_all(data, args.context_depth)
            if args.all
            else ruleset.classify(data, args.context_depth, baseline)
        )
    except ValueError as err:
        raise CommandError(f"{args.file}: {err}") from err
    matches = result if isinstance(result, list) else [result] if result else []
    if args.format == "json":
        value = [m.to_dict() for m in matches] if args.all else (result and matches[0].to_dict())
        print(json.dumps(value, ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(format_text(m) for m in matches) if matches else "no match")
    return 0


def format_text(match: Match) -> str:
    lines = [
        f"rule:     {match.rule}",
        f"line {match.line_num}: {match.line}",
        f"captures: {json.dumps(match.captures, ensure_ascii=False)}",
        f"score:    {match.score:.2f}",
    ]
    lines += [f"context:  {c}" if i == 0 else f"          {c}" for i, c in enumerate(match.context)]
    return "\n".join(lines)
