"""``logsorter forget``: erase everything the collator holds for a user or
one of their devices, and keep it from coming back (see
``logsorter.collator.forget``)."""

from __future__ import annotations

import argparse
from typing import Any

from logsorter.cli.base import CommandError
from logsorter.cli.collate import open_store

#: Exit code of ``--lift`` when nothing of the scope was forgotten.
NOTHING_TO_LIFT_EXIT = 1


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "forget",
        help="erase a user's (or a device's) collated data and keep it from coming back",
        description=(
            "Write a tombstone under collated_logs/forgotten/, then delete the user's (or "
            "device's) current files, diffs, texts, publication markers, staged and "
            "quarantined files and the error reports naming their uploads. The collator "
            "refuses every upload the tombstone covers, including events that arrive later. "
            "Prints what was deleted."
        ),
    )
    parser.add_argument("--store", required=True, metavar="DIR|s3://BUCKET")
    parser.add_argument("--user", required=True, metavar="USER_ID")
    parser.add_argument("--device", metavar="DEVICE_ID", help="only this device of the user")
    parser.add_argument(
        "--uploads",
        action="store_true",
        help="delete the raw uploads too, and any upload of theirs that arrives later",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted; change nothing"
    )
    parser.add_argument(
        "--lift",
        action="store_true",
        help="lift the tombstone: uploads written from now on are collated again",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from logsorter.collator.config import CollatorConfig
    from logsorter.collator.forget import Scope, forget, lift
    from logsorter.collator.keys import is_id

    for flag, value in (("--user", args.user), ("--device", args.device)):
        if value is not None and not is_id(value):
            raise CommandError(f"{flag} {value!r} is not 1-128 of [A-Za-z0-9_-]")
    if args.lift and (args.uploads or args.dry_run):
        raise CommandError("--lift takes neither --uploads nor --dry-run")
    try:
        config = CollatorConfig.from_env(dead_letter=False)
    except ValueError as err:
        raise CommandError(str(err)) from err
    store = open_store(args.store, config.kms_key_id)
    scope = Scope(args.user, args.device)
    if args.lift:
        lifted = lift(store, scope)
        for key in lifted:
            print(f"lifted {key}")
        if not lifted:
            print(f"nothing to lift: {scope.describe()} is not forgotten in {store.describe()}")
            return NOTHING_TO_LIFT_EXIT
        return 0
    erasure = forget(store, scope, uploads=args.uploads, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    if args.dry_run:
        for category, items in erasure.deleted.items():
            for key, size in items:
                print(f"{category}\t{size}\t{key}")
    total_objects = total_bytes = 0
    for category, count in erasure.counts().items():
        if count["objects"]:
            print(f"{verb} {count['objects']} {category} ({count['bytes']} bytes)")
        total_objects += count["objects"]
        total_bytes += count["bytes"]
    where = f"{scope.describe()} in {store.describe()}"
    print(f"{verb} {total_objects} objects, {total_bytes} bytes of {where}")
    if erasure.tombstone:
        print(f"tombstone {erasure.tombstone}: the collator refuses their uploads from now on")
    else:
        print("dry run: nothing was deleted and no tombstone was written")
    return 0
