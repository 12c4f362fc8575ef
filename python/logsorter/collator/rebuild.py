"""Rebuilding a device's ``current`` from its raw uploads, when the file is
there but cannot be read (half written by a broken tool, corrupted at rest).

The unreadable file is kept under ``collated_logs/quarantine/`` with a report
beside it, then every upload of the device is merged again in order of
arrival, as if each had been collated once: the result replaces the broken
file by compare-and-swap, and each upload's diff is written again under its
own key. Uploads the device re-sent under the same key count with the bytes
the store holds now.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from logsorter.collator.apply import merge_upload, stored_diff
from logsorter.collator.current import CommittedUpload, Current, load_current
from logsorter.collator.errors import RejectedUpload
from logsorter.collator.keys import (
    UPLOAD_PREFIX,
    Device,
    UploadKey,
    current_key,
    diff_key,
    quarantine_key,
)
from logsorter.collator.records import read_upload
from logsorter.collator.schema import LogType, current_schema
from logsorter.storage import Store


def device_uploads(store: Store, device: Device) -> list[UploadKey]:
    """The device's uploads in order of arrival (then key)."""
    found = []
    for key, info in store.list_objects(f"{UPLOAD_PREFIX}{device.user_id}/"):
        try:
            upload = UploadKey.parse(key)
        except RejectedUpload:
            continue
        if upload.device == device:
            found.append((info.last_modified, key, upload))
    return [upload for _, _, upload in sorted(found)]


def rebuild_corrupt_current(
    store: Store,
    log_type: LogType,
    device: Device,
    reason: str,
    *,
    skip: str | None = None,
    max_bytes: int | None = None,
    dead_letter: bool = False,
) -> Current:
    """Quarantine the unreadable ``current`` and replace it with one rebuilt
    from the device's uploads (all but ``skip``, the upload being collated,
    which its own commit adds). Returns the ``current`` now stored."""
    key = current_key(log_type, device)
    broken = store.get(key)
    if broken is None:
        return Current(current_schema(log_type).empty_table(), None)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{hashlib.sha256(broken.data).hexdigest()[:16]}"
    store.put(quarantine_key(log_type, device, f"{name}.parquet"), broken.data)
    report = {"key": key, "status": "quarantined", "reason": reason, "bytes": broken.info.size}
    store.put(quarantine_key(log_type, device, f"{name}.json"), json.dumps(report).encode())

    rebuilt = Current(current_schema(log_type).empty_table(), None)
    for upload_key in device_uploads(store, device):
        if upload_key.key == skip:
            continue
        try:
            upload = read_upload(store, upload_key, max_bytes, dead_letter=dead_letter)
        except RejectedUpload:
            continue  # rejected when it arrived, and reported then
        if upload.log_type != log_type:
            continue
        rebuilt, diff = merge_upload(rebuilt, upload)
        data, digest = stored_diff(diff)
        version = upload.version
        store.put(diff_key(log_type, device, version.uploaded_at, version.version_id), data)
        rebuilt.uploads.append(CommittedUpload(version, digest))
    rebuilt.etag = store.put_if(key, rebuilt.write, broken.info.etag)
    if rebuilt.etag is None:
        # Another collator replaced the broken file first: use its result.
        return load_current(store, key, log_type)
    return rebuilt
