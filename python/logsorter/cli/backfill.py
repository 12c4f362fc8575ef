"""``logsorter backfill``: classify the most recent failed jobs that have no
verdict, or one from another ruleset, here or through the deployed function.

Configured like the Lambda function (``LOGSORTER_*``, ``AWS_*`` variables).
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

from logsorter.cli.base import CommandError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from logsorter.classifier.backfill import Candidate
    from logsorter.classifier.classify import JobClassifier

#: Rows of the candidate list a dry run prints.
DRY_RUN_ROWS = 20


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backfill",
        help="classify recent failed jobs that lack a verdict from this ruleset",
        description=(
            "Find the most recent failed jobs (conclusion = failure) whose item has no "
            "classification or one made by another ruleset digest, by scanning the jobs "
            "table, and classify them concurrently, or queue them for the deployed function."
        ),
    )
    parser.add_argument("--limit", type=int, default=1000, metavar="N", help="default: 1000")
    parser.add_argument("--workers", type=int, default=8, metavar="N", help="default: 8")
    parser.add_argument(
        "--queue", metavar="SQS_URL", help="enqueue direct-invocation messages instead"
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be done")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CommandError("--limit must be 1 or more")
    if args.workers < 1:
        raise CommandError("--workers must be 1 or more")
    from rich.console import Console

    from logsorter.classifier.backfill import find_candidates
    from logsorter.classifier.classify import JobClassifier
    from logsorter.classifier.config import ClassifierConfig
    from logsorter.classifier.errors import UpstreamFailure

    try:
        config = ClassifierConfig.from_env()
    except (OSError, ValueError) as err:
        raise CommandError(f"ruleset: {err}") from err
    jobs = JobClassifier.from_config(config)
    console = Console()
    try:
        candidates = find_candidates(
            jobs.dynamodb, config.jobs_table, config.ruleset.digest, args.limit, args.workers
        )
        if args.dry_run:
            return print_plan(console, candidates, args.queue)
        if args.queue:
            return enqueue_all(console, candidates, args.queue)
        return classify_here(console, candidates, jobs, args.workers)
    except UpstreamFailure as err:
        raise CommandError(str(err), exit_code=1) from err


def print_plan(console: Console, candidates: list[Candidate], queue: str | None) -> int:
    from rich.table import Table

    table = Table(title=f"{len(candidates)} jobs to backfill (newest first)")
    for column in ("job", "finished", "reason"):
        table.add_column(column)
    for candidate in candidates[:DRY_RUN_ROWS]:
        table.add_row(candidate.request.dynamo_key, candidate.finished_at, candidate.reason)
    if len(candidates) > DRY_RUN_ROWS:
        table.add_row(f"... {len(candidates) - DRY_RUN_ROWS} more", "", "")
    console.print(table)
    action = f"enqueue {len(candidates)} messages to {queue}" if queue else "classify them here"
    console.print(f"dry run: would {action}; nothing was written")
    return 0


def enqueue_all(console: Console, candidates: list[Candidate], queue: str) -> int:
    from logsorter.aws import sqs_client
    from logsorter.classifier.backfill import enqueue

    sqs = sqs_client()
    with progress_bar(console) as progress:
        task = progress.add_task("enqueueing", total=len(candidates))
        for sent in enqueue(sqs, queue, (c.request for c in candidates)):
            progress.advance(task, sent)
    console.print(f"enqueued {len(candidates)} jobs to {queue}")
    return 0


def classify_here(
    console: Console, candidates: list[Candidate], jobs: JobClassifier, workers: int
) -> int:
    from logsorter.classifier.backfill import classify_jobs
    from logsorter.classifier.errors import ClassifyError

    outcomes: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    with progress_bar(console) as progress:
        task = progress.add_task("classifying", total=len(candidates))
        requests = (c.request for c in candidates)
        for request, result in classify_jobs(requests, jobs.classify, workers):
            progress.advance(task)
            if isinstance(result, ClassifyError):
                outcomes[f"failed ({result.status})"] += 1
                console.print(f"[red]{request.dynamo_key}[/red]: {result}", highlight=False)
            elif isinstance(result, Exception):
                outcomes["failed (crash)"] += 1
                console.print(f"[red]{request.dynamo_key}[/red]: {result!r}", highlight=False)
            else:
                outcomes["matched" if result.match else "no match"] += 1
                if result.match:
                    rules[result.match["rule"]] += 1
    print_summary(console, outcomes, rules)
    return 1 if any(name.startswith("failed") for name in outcomes) else 0


def print_summary(console: Console, outcomes: Counter[str], rules: Counter[str]) -> None:
    from rich.table import Table

    summary = Table(title="backfill summary")
    summary.add_column("outcome")
    summary.add_column("jobs", justify="right")
    for outcome, count in sorted(outcomes.items()):
        summary.add_row(outcome, str(count))
    console.print(summary)
    if rules:
        by_rule = Table(title="verdicts by rule")
        by_rule.add_column("rule")
        by_rule.add_column("jobs", justify="right")
        for rule, count in rules.most_common():
            by_rule.add_row(rule, str(count))
        console.print(by_rule)


def progress_bar(console: Console) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
