"""``logsorter collate``: collate phone-log uploads in a directory or bucket."""

from __future__ import annotations

import argparse
import os
from collections import Counter
from typing import Any

from logsorter.cli.base import CommandError

#: Exit code when some uploads (or lines) were rejected and reported.
REJECTED_EXIT = 1


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "collate",
        help="collate phone-log uploads into current parquet, daily diffs and text",
        description=(
            "Collate uploads under uploads/users/ into collated_logs/. Without KEY, a sweep: "
            "complete what crashes left half published, then collate every upload not yet "
            "collated in its present version. Exits 0 when everything was collated, 1 when some "
            "uploads or lines were rejected (see collated_logs/errors/)."
        ),
    )
    parser.add_argument("--store", required=True, metavar="DIR|s3://BUCKET")
    parser.add_argument(
        "--dlq",
        action="store_true",
        help="as the dead-letter collator: its own size ceiling, and uploads above it are "
        "rejected with a report",
    )
    parser.add_argument("keys", nargs="*", metavar="KEY")
    parser.set_defaults(run=run)


def open_store(spec: str, kms_key_id: str | None = None) -> Any:
    """The store ``--store`` names; objects written to S3 are encrypted with
    ``kms_key_id`` (SSE-KMS), or S3's own keys without one."""
    from logsorter.storage import LocalStore, S3Store

    if spec.startswith("s3://"):
        bucket = spec.removeprefix("s3://").strip("/")
        if not bucket or "/" in bucket:
            raise CommandError(f"--store {spec!r}: expected s3://BUCKET")
        from logsorter import aws

        return S3Store(aws.s3_client(), bucket, kms_key_id=kms_key_id)
    if not os.path.isdir(spec):
        raise CommandError(f"--store {spec}: not a directory")
    return LocalStore(spec)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from logsorter.collator.collate import collate_upload
    from logsorter.collator.config import CollatorConfig
    from logsorter.collator.discovery import pending_uploads, repair_device_logs

    try:
        config = CollatorConfig.from_env(dead_letter=args.dlq)
    except ValueError as err:
        raise CommandError(str(err)) from err
    store = open_store(args.store, config.kms_key_id)
    counts: Counter[str] = Counter()
    keys = list(args.keys)
    if not keys:
        # A sweep first completes what crashes left half done, so that every
        # upload already recorded is fully published, then collates the rest.
        repaired = repair_device_logs(store, config.max_upload_bytes, dead_letter=args.dlq)
        counts["device logs repaired"] = len(repaired)
        keys = pending_uploads(store)

    problems: list[str] = []
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("collating", total=len(keys))
        for key in keys:
            try:
                outcome = collate_upload(
                    store, key, max_bytes=config.max_upload_bytes, dead_letter=args.dlq
                )
            except Exception as err:
                counts["failed"] += 1
                problems.append(f"{key}: failed: {err}")
            else:
                counts[outcome.status] += 1
                counts["records added"] += outcome.added
                counts["with skipped lines"] += outcome.skipped_lines > 0
                if not outcome.complete:
                    problems.append(f"{key}: {outcome.status}, report {outcome.report_key}")
            progress.advance(task)
    for line in problems:
        console.print(line, markup=False, highlight=False)
    summary = ", ".join(f"{value} {name}" for name, value in sorted(counts.items()) if value)
    print(f"{len(keys)} uploads in {store.describe()}: {summary or 'nothing to do'}")
    return REJECTED_EXIT if problems else 0
