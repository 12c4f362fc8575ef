"""Rebuilding a device's collated data from its raw uploads: every upload
merged again in order of arrival, as if each had been collated once. The
same replay serves two callers:

- ``rebuild_device`` (``logsorter rebuild``, the ``{"rebuild": ...}``
  message): after a parser fix or a schema change, each log type's
  ``current``, diffs and text are recomputed while new uploads may keep
  arriving;
- ``rebuild_corrupt_current``: a ``current`` that is there but cannot be
  read (half written by a broken tool, corrupted at rest) is kept under
  ``collated_logs/quarantine/`` with a report beside it, and replaced.

Writes follow the commit protocol (``commit.py``): every diff is staged,
``current`` is replaced by compare-and-swap against the version read before
the uploads were listed, and the publication moves each staged diff to its
own key (the same key a first collation wrote) and writes the text. An
upload that arrives meanwhile is either listed, and recorded in the rebuilt
``current`` (its own commit then finds it there), or not, and its commit
merges it into the rebuilt one; a commit that lands during the rebuild makes
the compare-and-swap fail, and the rebuild starts again. Uploads the device
re-sent under the same key count with the bytes the store holds now;
uploads a tombstone refuses are left out.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from logsorter.collator.apply import merge_upload, stored_diff
from logsorter.collator.current import (
    CommittedUpload,
    CorruptCurrent,
    Current,
    OutdatedCurrent,
    load_current,
)
from logsorter.collator.errors import CommitConflict, RejectedUpload
from logsorter.collator.keys import (
    CURRENT_PREFIX,
    OUTPUT_PREFIX,
    UPLOAD_PREFIX,
    Device,
    UploadKey,
    current_key,
    diff_key,
    error_key,
    quarantine_key,
    staged_diff_key,
)
from logsorter.collator.publish import Publication
from logsorter.collator.records import Upload, read_upload
from logsorter.collator.reports import report_rejected, report_skipped_lines
from logsorter.collator.schema import LOG_TYPES, LogType, current_schema, log_type
from logsorter.collator.tombstones import tombstones_of
from logsorter.storage import Blob, Store

#: Compare-and-swaps a rebuild may lose to commits of new uploads.
REBUILD_ATTEMPTS = 10


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


@dataclass(frozen=True)
class Replayed:
    """A ``current`` rebuilt in memory, not yet stored, and its diffs by
    staged key."""

    current: Current
    staged: dict[str, bytes]


def replay(uploads: list[Upload], log_type: LogType, device: Device) -> Replayed:
    """Merge ``uploads`` (of ``log_type``, in order of arrival) into an empty
    ``current`` one after the other, as their commits would."""
    rebuilt = Current(current_schema(log_type).empty_table(), None)
    staged = {}
    for upload in uploads:
        rebuilt, diff = merge_upload(rebuilt, upload)
        data, digest = stored_diff(diff)
        version = upload.version
        staged[staged_diff_key(log_type, device, version.version_id, digest)] = data
        rebuilt.uploads.append(CommittedUpload(version, digest))
    return Replayed(rebuilt, staged)


def _commit(
    store: Store, log_type: LogType, device: Device, replayed: Replayed, etag: str | None
) -> str | None:
    """Stage the diffs and swap ``current`` in; its new version, or None when
    ``current`` is no longer at ``etag``."""
    for key, data in replayed.staged.items():
        store.put(key, data)
    return store.put_if(current_key(log_type, device), replayed.current.write, etag)


@dataclass
class DeviceUploads:
    """One listing of a device's uploads, read and parsed."""

    #: Accepted uploads by log type, in order of arrival.
    by_log_type: dict[str, list[Upload]]
    #: Uploads rejected as a whole, by key.
    rejected: dict[str, RejectedUpload]


def read_device_uploads(
    store: Store,
    device: Device,
    *,
    skip: str | None = None,
    max_bytes: int | None = None,
    dead_letter: bool = False,
) -> DeviceUploads:
    tombstones = tombstones_of(store, device)
    found = DeviceUploads({}, {})
    for upload_key in device_uploads(store, device):
        if upload_key.key == skip:
            continue
        try:
            upload = read_upload(store, upload_key, max_bytes, dead_letter=dead_letter)
        except RejectedUpload as err:
            found.rejected[upload_key.key] = err
            continue
        if any(t.refuses(upload.version.uploaded_at) for t in tombstones):
            continue
        found.by_log_type.setdefault(upload.log_type.name, []).append(upload)
    return found


def rebuild_corrupt_current(
    store: Store,
    log_type: LogType,
    device: Device,
    error: CorruptCurrent,
    *,
    skip: str | None = None,
    max_bytes: int | None = None,
    dead_letter: bool = False,
) -> Current:
    """Quarantine the unreadable ``current`` (one that is merely outdated
    is not kept) and replace it with one rebuilt from the device's uploads
    (all but ``skip``, the upload being collated, which its own commit
    adds). Returns the ``current`` now stored; the caller publishes it."""
    key = current_key(log_type, device)
    broken = store.head(key) if isinstance(error, OutdatedCurrent) else None
    if not isinstance(error, OutdatedCurrent):
        blob = store.get(key)
        if blob is not None:
            _quarantine(store, log_type, device, blob, str(error))
            broken = blob.info
    if broken is None:
        return Current(current_schema(log_type).empty_table(), None)

    found = read_device_uploads(
        store, device, skip=skip, max_bytes=max_bytes, dead_letter=dead_letter
    )
    replayed = replay(found.by_log_type.get(log_type.name, []), log_type, device)
    replayed.current.etag = _commit(store, log_type, device, replayed, broken.etag)
    if replayed.current.etag is None:
        # Another collator replaced the broken file first: use its result.
        return load_current(store, key, log_type)
    return replayed.current


def _quarantine(store: Store, log_type: LogType, device: Device, broken: Blob, reason: str) -> None:
    key = current_key(log_type, device)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{hashlib.sha256(broken.data).hexdigest()[:16]}"
    store.put(quarantine_key(log_type, device, f"{name}.parquet"), broken.data)
    report = {"key": key, "status": "quarantined", "reason": reason, "bytes": broken.info.size}
    store.put(quarantine_key(log_type, device, f"{name}.json"), json.dumps(report).encode())


@dataclass(frozen=True)
class Rebuilt:
    log_type: str
    uploads: int
    records: int
    #: Compare-and-swaps lost to new uploads' commits, each followed by a retry.
    conflicts: int


def rebuild_device(
    store: Store,
    device: Device,
    *,
    only: str | None = None,
    max_bytes: int | None = None,
    dead_letter: bool = False,
    attempts: int = REBUILD_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Rebuilt]:
    """Recompute every log type of the device (or ``only`` that one) from its
    uploads, and the reports of its rejected uploads and skipped lines.
    Raises ``CommitConflict`` when new commits kept landing for ``attempts``
    tries."""
    pending = None if only is None else {only}
    done: list[Rebuilt] = []
    for attempt in range(attempts):
        # Versions first, then the listing: a commit after this point moves
        # its ``current`` and fails the swap below.
        names = pending if pending is not None else _log_types_in(store)
        # Diffs listed before the versions: any of them is from a commit the
        # listing of uploads below sees, so one the rebuild does not write
        # again belongs to no upload it collates.
        old_diffs = {name: _device_diffs(store, log_type(name), device) for name in names}
        before = {name: _version(store, log_type(name), device) for name in names}
        found = read_device_uploads(store, device, max_bytes=max_bytes, dead_letter=dead_letter)
        if pending is None:
            pending = set(found.by_log_type)
        if attempt == 0:
            _rewrite_reports(store, found, only)
        for name in sorted(pending):
            kind = log_type(name)
            uploads = found.by_log_type.get(name, [])
            replayed = replay(uploads, kind, device)
            # A type no ``current`` had when the versions were read had none.
            replayed.current.etag = _commit(store, kind, device, replayed, before.get(name))
            if replayed.current.etag is None:
                continue
            Publication(store, kind, device).complete(replayed.current, replayed.staged)
            written = {
                diff_key(kind, device, c.upload.uploaded_at, c.upload.version_id)
                for c in replayed.current.uploads
            }
            for key in old_diffs.get(name, set()) - written:
                store.delete(key)
            done.append(Rebuilt(name, len(uploads), replayed.current.table.num_rows, attempt))
            pending.discard(name)
        if not pending:
            return done
        sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
    raise CommitConflict(f"{device.path}: {sorted(pending or ())} kept changing during the rebuild")


def _log_types_in(store: Store) -> set[str]:
    """Every log type a ``current`` may exist for: the known ones and those
    the store has."""
    folders = store.list_folders(CURRENT_PREFIX)
    return set(LOG_TYPES) | {folder[len(CURRENT_PREFIX) : -1] for folder in folders}


def _version(store: Store, kind: LogType, device: Device) -> str | None:
    info = store.head(current_key(kind, device))
    return info.etag if info else None


def _rewrite_reports(store: Store, found: DeviceUploads, only: str | None) -> None:
    """The reports a first collation of these uploads writes (of ``only``'s
    uploads, when given), and none for uploads that now collate whole."""
    if only is None:
        for key, err in found.rejected.items():
            report_rejected(store, key, str(err), err.etag, err.report_status)
    for name, uploads in found.by_log_type.items():
        if only is not None and name != only:
            continue
        for upload in uploads:
            if upload.parsed.rejected:
                report_skipped_lines(store, upload.key.key, upload.parsed.rejected)
            else:
                store.delete(error_key(upload.key.key))


def _device_diffs(store: Store, kind: LogType, device: Device) -> set[str]:
    return {
        key
        for day in store.list_folders(f"{OUTPUT_PREFIX}diff/{kind.name}/")
        for key in store.list_keys(f"{day}{device.path}/")
    }
