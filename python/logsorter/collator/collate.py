"""Collating one upload: read it (``records.py``), commit its records
(``commit.py``), and report what could not be collated. Permanent problems
become reports under ``collated_logs/errors/`` and a rejected outcome;
transient ones raise, so that the platform retries. An upload of an erased
user or device (``tombstones.py``) is not collated: its outcome says so, and
when the erasure took the raw uploads, this one is deleted too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from logsorter.collator.commit import DEFAULT_ATTEMPTS, Commit
from logsorter.collator.errors import RejectedUpload
from logsorter.collator.keys import UploadKey
from logsorter.collator.records import read_upload
from logsorter.collator.reports import report_rejected, report_skipped_lines
from logsorter.collator.tombstones import Tombstone, refusing_tombstone
from logsorter.storage import Store, UnsafeKey


@dataclass
class Outcome:
    key: str
    status: Literal["collated", "already_collated", "rejected", "forgotten"]
    log_type: str | None = None
    records: int = 0
    added: int = 0
    skipped_lines: int = 0
    report_key: str | None = None
    #: Commits lost to a concurrent writer and retried.
    conflicts: int = 0
    #: Size of the upload as stored (compressed, if it was).
    upload_bytes: int = 0

    @property
    def complete(self) -> bool:
        """Every line of the upload made it into the collated data."""
        return self.status != "rejected" and self.skipped_lines == 0


def collate_upload(
    store: Store,
    key: str,
    *,
    max_bytes: int | None = None,
    dead_letter: bool = False,
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Collate the upload at ``key``. Above ``max_bytes`` (stored or
    decompressed) it raises ``UploadTooLarge``, or is rejected when this is
    the ``dead_letter`` collator, the last to try."""
    try:
        upload_key = UploadKey.parse(key)
        forgotten = _forgotten(store, upload_key)
        if forgotten is not None:
            return forgotten
        upload = read_upload(store, upload_key, max_bytes, dead_letter=dead_letter)
    except RejectedUpload as err:
        report = report_rejected(store, key, str(err), err.etag, err.report_status)
        return Outcome(key, "rejected", report_key=report)
    except UnsafeKey as err:
        return Outcome(key, "rejected", report_key=report_rejected(store, key, str(err), None))
    parsed = upload.parsed
    # Reported before the commit: a crash after it would leave the upload
    # recorded, so nothing would come back to write the report.
    report_key = report_skipped_lines(store, key, parsed.rejected) if parsed.rejected else None
    committed = Commit(store, upload, max_bytes=max_bytes, dead_letter=dead_letter).run(
        attempts, sleep
    )
    if committed.forgotten is not None:
        return _refused(store, key, committed.forgotten)
    outcome = Outcome(
        key,
        "already_collated" if committed.already_recorded else "collated",
        upload.log_type.name,
        records=parsed.records + parsed.duplicates,
        added=committed.added,
        skipped_lines=len(parsed.rejected),
        report_key=report_key,
        conflicts=committed.conflicts,
        upload_bytes=upload.size,
    )
    return outcome


def _forgotten(store: Store, upload: UploadKey) -> Outcome | None:
    """The outcome of an upload a tombstone refuses; None for any other.
    The upload's time is read only when a tombstone exists."""
    if refusing_tombstone(store, upload.device) is None:
        return None
    info = store.head(upload.key)
    tombstone = refusing_tombstone(store, upload.device, info.last_modified if info else None)
    return None if tombstone is None else _refused(store, upload.key, tombstone)


def _refused(store: Store, key: str, tombstone: Tombstone) -> Outcome:
    if tombstone.uploads:
        store.delete(key)
    return Outcome(key, "forgotten", report_key=tombstone.key)
