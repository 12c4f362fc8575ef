"""Collating one upload: read it, commit its records (``commit.py``), and
report what could not be collated. Permanent problems become reports under
``collated_logs/errors/`` and a rejected outcome; transient ones raise, so
that the platform retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from logsorter.collator.commit import DEFAULT_ATTEMPTS, Commit, TransientError
from logsorter.collator.keys import RejectedUpload, UploadKey
from logsorter.collator.merge import with_provenance
from logsorter.collator.records import UploadRecords, read_records
from logsorter.collator.reports import report_rejected, report_skipped_lines
from logsorter.collator.schema import Kind
from logsorter.storage import Store, UnsafeKey


class UploadTooLarge(TransientError):
    """Above this function's size limit; the dead-letter collator has none."""


@dataclass
class Outcome:
    key: str
    status: Literal["collated", "already_collated", "rejected"]
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
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Collate the upload at ``key``."""
    try:
        upload = UploadKey.parse(key)
        if max_bytes is not None:
            # Checked before the download, which is what the limit protects.
            info = store.head(key)
            if info is not None and info.size > max_bytes:
                raise UploadTooLarge(f"{key}: {info.size} bytes is above the limit of {max_bytes}")
        blob = store.get(key)
        if blob is None:
            raise RejectedUpload("the upload does not exist")
        records = read_records(blob.data)
        _check_snapshot_kept_something(records)
    except (RejectedUpload, UnsafeKey) as err:
        return Outcome(key, "rejected", report_key=report_rejected(store, key, str(err)))

    parsed = records.parsed
    uploaded_at = blob.info.last_modified
    incoming = with_provenance(records.table, records.log_type, upload, uploaded_at)
    collected_at = parsed.collected_at
    if collected_at is None:
        collected_at = int(uploaded_at.timestamp() * 1000)
    committed = Commit(store, upload, records.log_type, uploaded_at).run(
        incoming, (collected_at, key), attempts, sleep
    )
    outcome = Outcome(
        key,
        "already_collated" if committed.already_recorded else "collated",
        records.log_type.name,
        records=parsed.records + parsed.duplicates,
        added=committed.added,
        skipped_lines=len(parsed.rejected),
        conflicts=committed.conflicts,
        upload_bytes=blob.info.size,
    )
    if parsed.rejected:
        outcome.report_key = report_skipped_lines(store, key, parsed.rejected)
    return outcome


def _check_snapshot_kept_something(records: UploadRecords) -> None:
    """A snapshot replaces ``current`` whole, so one whose every record was
    rejected would wipe the device's state for a formatting problem: it is
    rejected as an upload instead, and ``current`` keeps the last good one."""
    parsed = records.parsed
    if parsed.records == 0 and parsed.rejected and records.log_type.kind is Kind.SNAPSHOT:
        first = ", ".join(f"line {line}: {reason}" for line, reason in parsed.rejected[:3])
        raise RejectedUpload(
            f"every record of this {records.log_type.name} snapshot was rejected "
            f"({len(parsed.rejected)} lines; {first})"
        )
