"""``logsorter rebuild``: recompute devices' collated data from their raw
uploads, here or on the deployed collator (see
``logsorter.collator.rebuild``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from logsorter.cli.base import CommandError
from logsorter.cli.collate import open_store

if TYPE_CHECKING:
    from logsorter.collator.keys import Device
    from logsorter.storage import Store

#: Exit code when some devices could not be rebuilt.
FAILED_EXIT = 1


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rebuild",
        help="recompute current, diffs and text from the raw uploads",
        description=(
            "Recompute each device's current files, diffs (rewritten under the same keys) and "
            "texts from its uploads, as if each upload were collated once in order of arrival: "
            "after a parser fix or a schema change. Safe while uploads keep arriving. With "
            "--queue, send one message per device to the collator's queue instead: the "
            "deployed function rebuilds them."
        ),
    )
    parser.add_argument("--store", required=True, metavar="DIR|s3://BUCKET")
    parser.add_argument("--user", metavar="USER_ID", help="only this user's devices")
    parser.add_argument("--device", metavar="DEVICE_ID", help="only this device")
    parser.add_argument("--log-type", metavar="TYPE", help="only this log type")
    parser.add_argument(
        "--queue", metavar="SQS_URL", help="the upload queue the deployed collator reads"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from logsorter.collator.config import CollatorConfig
    from logsorter.collator.keys import is_id, is_log_type_name

    for flag, value in (("--user", args.user), ("--device", args.device)):
        if value is not None and not is_id(value):
            raise CommandError(f"{flag} {value!r} is not 1-128 of [A-Za-z0-9_-]")
    if args.log_type is not None and not is_log_type_name(args.log_type):
        raise CommandError(f"--log-type {args.log_type!r} is not 1-64 of [a-z0-9_]")
    if args.queue and not args.store.startswith("s3://"):
        raise CommandError("--queue needs an s3:// store: the deployed collator rebuilds there")
    try:
        config = CollatorConfig.from_env(dead_letter=False)
    except ValueError as err:
        raise CommandError(str(err)) from err
    store = open_store(args.store, config.kms_key_id)
    devices = devices_with_uploads(store, args.user, args.device)
    if args.queue:
        return enqueue(store, devices, args.log_type, args.queue)
    return rebuild_here(store, devices, args.log_type, config)


def devices_with_uploads(store: Store, user: str | None, device: str | None) -> list[Device]:
    from logsorter.collator.errors import RejectedUpload
    from logsorter.collator.keys import UPLOAD_PREFIX, UploadKey

    found = set()
    for key in store.list_keys(UPLOAD_PREFIX + (f"{user}/" if user else "")):
        try:
            upload = UploadKey.parse(key)
        except RejectedUpload:
            continue
        if device is None or upload.device_id == device:
            found.add(upload.device)
    return sorted(found, key=lambda d: (d.user_id, d.device_id))


def enqueue(store: Store, devices: list[Device], log_type: str | None, queue: str) -> int:
    from logsorter.aws import sqs_client
    from logsorter.collator.events import RebuildRef
    from logsorter.queues import QueueRefused, send_messages

    bucket = store.describe().removeprefix("s3://")
    messages = (RebuildRef(bucket, device, log_type).to_message() for device in devices)
    try:
        sent = sum(send_messages(sqs_client(), queue, messages))
    except QueueRefused as err:
        raise CommandError(str(err), FAILED_EXIT) from err
    print(f"queued {sent} device rebuilds to {queue}")
    return 0


def rebuild_here(store: Store, devices: list[Device], log_type: str | None, config: Any) -> int:
    from logsorter.collator.rebuild import rebuild_device

    failed = 0
    rebuilt_logs = 0
    for device in devices:
        try:
            rebuilt = rebuild_device(
                store, device, only=log_type, max_bytes=config.max_upload_bytes
            )
        except Exception as err:
            failed += 1
            print(f"{device.path}: failed: {type(err).__name__}: {err}")
            continue
        rebuilt_logs += len(rebuilt)
        for each in rebuilt:
            print(
                f"{device.path}/{each.log_type}: {each.records} records from {each.uploads} uploads"
            )
    print(
        f"rebuilt {rebuilt_logs} device logs of {len(devices) - failed} devices in "
        f"{store.describe()}" + (f"; {failed} devices failed" if failed else "")
    )
    return FAILED_EXIT if failed else 0
