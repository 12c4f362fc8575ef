"""``logsorter rules check``: compile a ruleset and lint its patterns."""

from __future__ import annotations

import argparse
from typing import Any

from logsorter._core import lint_rules
from logsorter.cli.base import ruleset_option

#: Exit code when a finding is an error (the ruleset loads but a rule is
#: broken or can never win); a ruleset that does not load exits 2.
ERRORS_EXIT = 1


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rules",
        help="check a ruleset",
        description="Work with rulesets.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="compile and lint a ruleset",
        description=(
            "Compile a ruleset and lint its patterns: duplicate or shadowed rules (errors), "
            "patterns without literal text and classes that include a line break (warnings). "
            "Exits 0 when clean or with warnings only, 1 with errors, 2 when it does not load."
        ),
    )
    check.add_argument("--ruleset", metavar="PATH", help="ruleset TOML (default: packaged)")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    ruleset = ruleset_option(args.ruleset)
    rules = ruleset.rules
    findings = lint_rules(rules)
    for index, _severity, code, message in findings:
        print(f"rule {index} ({rules[index][0]}): {code}: {message}")
    errors = sum(1 for _, severity, _, _ in findings if severity == "error")
    warnings = len(findings) - errors
    print(f"{len(rules)} rules, digest {ruleset.digest}: {errors} errors, {warnings} warnings")
    return ERRORS_EXIT if errors else 0
