"""``logsorter sample phone-logs``: write synthetic phone-log uploads."""

from __future__ import annotations

import argparse
from typing import Any

from logsorter.cli.base import CommandError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sample",
        help="write synthetic inputs for demos, tests and benchmarks",
        description="Write realistic synthetic uploads under DIR/uploads/users/.",
    )
    parser.add_argument("kind", choices=("phone-logs",))
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--users", type=int, default=3, metavar="N")
    parser.add_argument("--records", type=int, default=200, metavar="M", help="per log type")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.users < 1 or args.records < 1:
        raise CommandError("--users and --records must be 1 or more")
    from logsorter.collator.sample import write_sample
    from logsorter.storage import LocalStore

    try:
        keys = write_sample(LocalStore(args.out), args.users, args.records)
    except OSError as err:
        raise CommandError(f"{args.out}: {err.strerror or err}") from err
    print(f"wrote {len(keys)} uploads under {args.out}/uploads/users/")
    return 0
