"""``logsorter rules check|stats|diff|sample``: lint a ruleset, and measure
it on a corpus of real logs: how it does, what a change moves, and a sample
of its verdicts to audit."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logsorter._core import LOCATED_RULE, lint_rules
from logsorter.cli.base import CommandError, ruleset_option

if TYPE_CHECKING:
    from logsorter import RuleSet
    from logsorter.workbench.run import LogResult, Run

#: Exit code when a finding is an error (the ruleset loads but a rule is
#: broken or can never win); a ruleset that does not load exits 2.
ERRORS_EXIT = 1
#: Exit code of ``diff --fail-on-change`` when a verdict changed.
CHANGED_EXIT = 1
#: Rows of a diff's table output per transition.
TABLE_EXAMPLES = 3


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rules",
        help="check a ruleset, measure it on a corpus, diff two rulesets",
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

    stats = actions.add_parser(
        "stats",
        help="how a ruleset does on a corpus of logs",
        description=(
            "Classify every log of the corpus (folders, files, s3://bucket/prefix) and report, "
            "per rule, the logs where it is the verdict and where it matches at all, how often it "
            "matches successful jobs and its regex time; overall, the share of specific, "
            "wrapper or catch-all, located and no verdicts, and the labeled-line accuracy where "
            "labels are known (fixture markers, labels.tsv)."
        ),
    )
    _corpus_arguments(stats)
    stats.add_argument("--ruleset", metavar="PATH", help="ruleset TOML (default: packaged)")
    stats.set_defaults(run=run_stats)

    diff = actions.add_parser(
        "diff",
        help="every verdict a ruleset change moves on a corpus",
        description=(
            "Classify the corpus with both rulesets and list every log whose verdict (rule, "
            "line or captures) changes, grouped by transition (old rule -> new rule)."
        ),
    )
    base = diff.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="OLD.toml", help="the ruleset before the change")
    base.add_argument(
        "--base-ref",
        metavar="GIT_REF",
        help="the ruleset at this git ref: --ruleset's file when it is in the repository, "
        "else ruleset.toml at the repository's top",
    )
    diff.add_argument("--ruleset", metavar="NEW.toml", help="the new ruleset (default: packaged)")
    _corpus_arguments(diff)
    diff.add_argument("--fail-on-change", action="store_true", help="exit 1 if a verdict changed")
    diff.set_defaults(run=run_diff)

    sample = actions.add_parser(
        "sample",
        help="a reproducible random sample of one rule's verdicts",
        description=(
            "Print a random sample of the verdicts of RULE on the corpus, each with the lines "
            f"around it; the same corpus and seed give the same sample. RULE {LOCATED_RULE!r} "
            "samples the locator's verdicts."
        ),
    )
    sample.add_argument("rule", metavar="RULE")
    sample.add_argument("corpus", nargs="+", metavar="CORPUS")
    sample.add_argument("-n", type=int, default=20, metavar="N", help="default: 20")
    sample.add_argument("--seed", type=int, default=0, metavar="S", help="default: 0")
    sample.add_argument("--ruleset", metavar="PATH", help="ruleset TOML (default: packaged)")
    sample.add_argument(
        "--context", type=int, default=5, metavar="N", help="lines before (and half after)"
    )
    sample.add_argument("--threads", type=int, metavar="N", help="default: every core")
    sample.set_defaults(run=run_sample)


def _corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "corpus", nargs="+", metavar="CORPUS", help="folder, file or s3://bucket/prefix"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--html", metavar="PATH", help="also write a self-contained report")
    parser.add_argument("--threads", type=int, metavar="N", help="default: every core")


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


def survey_corpus(
    rulesets: Sequence[RuleSet],
    specs: Sequence[str],
    threads: int | None,
    window: tuple[int, int] | None = None,
) -> Run:
    """Every ruleset over the corpus, with a progress bar on stderr;
    unreadable logs are reported there, one line each."""
    from rich.console import Console
    from rich.progress import Progress

    from logsorter import aws
    from logsorter.workbench import run
    from logsorter.workbench.corpus import CorpusError, list_corpus

    if threads is not None and threads < 1:
        raise CommandError("--threads must be 1 or more")
    try:
        logs = list_corpus(specs, aws.s3_client)
    except CorpusError as err:
        raise CommandError(str(err)) from err
    if not logs:
        raise CommandError(f"no logs in {' '.join(specs)}")
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("classifying", total=len(logs))
        done = run.run(
            rulesets,
            logs,
            threads=threads,
            progress=lambda n: progress.advance(task, n),
            window=window,
        )
    for result in done.results[0]:
        if result.error is not None:
            print(f"logsorter: {result.name}: {result.error}", file=sys.stderr)
    return done


def write_html(path: str, page: str) -> None:
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as err:
        raise CommandError(f"--html {path}: {err.strerror or err}") from err


def run_stats(args: argparse.Namespace) -> int:
    from logsorter.workbench.stats import compute_stats

    ruleset = ruleset_option(args.ruleset)
    done = survey_corpus([ruleset], args.corpus, args.threads)
    stats = compute_stats(ruleset, done, done.results[0])
    if args.html:
        from logsorter.workbench.report import stats_page

        title = f"logsorter rules stats: {' '.join(args.corpus)}"
        write_html(args.html, stats_page(stats, done.results[0], title))
    if args.format == "json":
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        print_stats(stats)
    return 0


def print_stats(stats: dict[str, Any]) -> None:
    summary = stats["summary"]
    print(
        f"{summary['logs']} logs, {summary['bytes'] / 1e6:.1f} MB in {summary['seconds']} s "
        f"({summary['mb_per_s']} MB/s), peak RSS {summary['peak_rss_bytes'] >> 20} MiB"
    )
    for kind, what in (
        ("specific", "specific verdict"),
        ("fallback", "wrapper or catch-all verdict"),
        ("located", "located failure"),
        ("none", "no verdict"),
        ("error", "unreadable"),
    ):
        figure = summary[kind]
        print(f"  {what:30} {figure['logs']:>6}  {_percent(figure['share']):>6}")
    print(f"  accuracy (1 - wrapper and catch-all share): {_percent(summary['accuracy'])}")
    labeled = summary["labeled"]
    if labeled:
        print(
            f"  on a labeled line: {labeled['right']} of {labeled['logs']} "
            f"({_percent(labeled['accuracy'])})"
        )
        for wrong in labeled["wrong"]:
            verdict = wrong["verdict"]
            got = f"line {verdict['line_num']} ({verdict['rule']})" if verdict else "no verdict"
            want = ",".join(map(str, wrong["labels"])) or "no verdict"
            print(f"    {wrong['log']}: got {got}, labeled {want}")
    matching = [r for r in stats["rules"] if r["matches"]]
    rows = [("rule", "role", "verdicts", "matches", "share", "on success", "regex time")]
    rows += [
        (
            rule["name"],
            rule["role"],
            str(rule["verdicts"]),
            str(rule["matches"]),
            _percent(rule["share"]),
            "-" if rule["on_success"] is None else str(rule["on_success"]),
            "-" if rule["seconds"] is None else f"{rule['seconds'] * 1000:.2f} ms",
        )
        for rule in matching
    ]
    print(
        f"\nrules that match a log, in priority order ({len(matching)} of {len(stats['rules'])}):"
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def run_diff(args: argparse.Namespace) -> int:
    from logsorter import RuleSet, RuleSetError
    from logsorter.workbench.diff import GitError, compute_diff, ruleset_at_ref
    from logsorter.workbench.stats import compute_stats

    new = ruleset_option(args.ruleset)
    if args.base_ref:
        try:
            text, where = ruleset_at_ref(args.base_ref, args.ruleset)
            old = RuleSet.from_toml(text)
        except (GitError, RuleSetError) as err:
            raise CommandError(f"--base-ref {args.base_ref}: {err}") from err
    else:
        old, where = ruleset_option(args.base), args.base
    done = survey_corpus([old, new], args.corpus, args.threads)
    diff = compute_diff(done.results[0], done.results[1], done, (old.digest, new.digest))
    diff["base"] = where
    if args.html:
        from logsorter.workbench.report import diff_page

        stats = compute_stats(new, done, done.results[1])
        title = f"logsorter rules diff against {where}: {' '.join(args.corpus)}"
        write_html(args.html, diff_page(diff, stats, title))
    if args.format == "json":
        print(json.dumps(diff, ensure_ascii=False, indent=2))
    else:
        print_diff(diff)
    return CHANGED_EXIT if args.fail_on_change and diff["changed"] else 0


def print_diff(diff: dict[str, Any]) -> None:
    print(
        f"{diff['changed']} of {diff['logs_surveyed']} logs change verdict against "
        f"{diff['base']} ({diff['fixed']} labeled fixed, {diff['broken']} broken)"
    )
    by_log = {log["log"]: log for log in diff["logs"]}
    for transition in diff["transitions"]:
        print(
            f"  {transition['from'] or '(none)'} -> {transition['to'] or '(none)'}: "
            f"{transition['count']}"
        )
        for example in transition["examples"][:TABLE_EXAMPLES]:
            label = by_log[example["log"]]["label"]
            print(f"    {example['log']}" + (f" [{label}]" if label else ""))
            print(f"      - {example['from_line'] or 'no verdict'}")
            print(f"      + {example['to_line'] or 'no verdict'}")


def run_sample(args: argparse.Namespace) -> int:
    from logsorter.workbench.sample import sample_verdicts

    if args.n < 1:
        raise CommandError("-n must be 1 or more")
    if args.context < 0:
        raise CommandError("--context must be 0 or more")
    ruleset = ruleset_option(args.ruleset)
    names = {name for name, _ in ruleset.rules} | {LOCATED_RULE}
    if args.rule not in names:
        raise CommandError(f"no rule named {args.rule!r} in the ruleset")
    window = (args.context, (args.context + 1) // 2)
    done = survey_corpus([ruleset], args.corpus, args.threads, window)
    drawn, total = sample_verdicts(done.results[0], args.rule, args.n, args.seed)
    print(f"{len(drawn)} of {total} verdicts of {args.rule!r} (seed {args.seed})")
    for result in drawn:
        print_sampled(result)
    return 0


def print_sampled(result: LogResult) -> None:
    verdict = result.verdict
    assert verdict is not None
    captures = json.dumps(verdict.captures, ensure_ascii=False)
    print(f"\n== {result.name}: line {verdict.line_num}, captures {captures}")
    for line_num, text in result.window:
        print(f"{'>' if line_num == verdict.line_num else ' '} {line_num:>6}  {text}")
