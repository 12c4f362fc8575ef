"""``logsorter corpus pull``: download logs from S3 into a local corpus for
``logsorter rules stats|diff|sample``."""

from __future__ import annotations

import argparse
from typing import Any

from logsorter.cli.base import CommandError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "corpus",
        help="build a local corpus of logs from S3",
        description="Build a local corpus of logs.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pull = actions.add_parser(
        "pull",
        help="download logs into a local corpus (resumable)",
        description=(
            "Download logs from the bucket into DIR under their own keys, in parallel; logs "
            "already in DIR are skipped, so a pull resumes. With --table, the jobs come from "
            "the jobs table (by conclusion and completion time, newest first) and DIR/jobs.jsonl "
            "records each job's key, name and conclusion. Exits 1 if a download failed."
        ),
    )
    pull.add_argument("--bucket", required=True, metavar="B")
    pull.add_argument(
        "--prefix", default="log/", metavar="P", help="without --table; default: log/"
    )
    pull.add_argument("--table", metavar="T", help="pick jobs from this jobs table")
    pull.add_argument(
        "--conclusion", metavar="C", help="with --table: only jobs with this conclusion"
    )
    pull.add_argument(
        "--since", metavar="AGE|DATE", help="with --table: finished since (7d, 12h, 2026-11-01)"
    )
    pull.add_argument("--limit", type=int, metavar="N", help="at most N logs")
    pull.add_argument("--workers", type=int, default=16, metavar="N", help="default: 16")
    pull.add_argument("--out", required=True, metavar="DIR")
    pull.set_defaults(run=run_pull)


def run_pull(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be 1 or more")
    if args.workers < 1:
        raise CommandError("--workers must be 1 or more")
    if not args.table and (args.conclusion or args.since):
        raise CommandError("--conclusion and --since select jobs of --table")
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from logsorter import aws
    from logsorter.classifier.errors import UpstreamFailure
    from logsorter.storage import LocalStore, S3Store
    from logsorter.workbench import pull

    try:
        since = pull.since_timestamp(args.since) if args.since else None
    except ValueError as err:
        raise CommandError(str(err)) from err
    source = S3Store(aws.s3_client(), args.bucket)
    try:
        if args.table:
            wanted = pull.wanted_from_table(
                aws.dynamodb_client(),
                args.table,
                conclusion=args.conclusion,
                since=since,
                limit=args.limit,
            )
        else:
            wanted = pull.wanted_under_prefix(source, args.prefix, args.limit)
    except UpstreamFailure as err:
        raise CommandError(str(err), exit_code=1) from err
    except Exception as err:  # botocore's, listing the bucket
        raise CommandError(f"s3://{args.bucket}/{args.prefix}: {err}", exit_code=1) from err
    console = Console(stderr=True)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task("pulling", total=len(wanted))
        try:
            pulled = pull.pull(
                source,
                LocalStore(args.out),
                wanted,
                workers=args.workers,
                progress=lambda: progress.advance(task),
            )
        except OSError as err:
            raise CommandError(f"--out {args.out}: {err.strerror or err}") from err
    for failure in pulled.failed:
        console.print(f"failed: {failure}", markup=False, highlight=False)
    print(
        f"{len(wanted)} logs: {pulled.downloaded} downloaded ({pulled.bytes / 1e6:.1f} MB), "
        f"{pulled.skipped} already there, {len(pulled.missing)} not in the bucket, "
        f"{len(pulled.failed)} failed; corpus in {args.out}"
    )
    return 1 if pulled.failed else 0
