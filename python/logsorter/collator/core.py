"""Collating one upload, safe under duplicate, out-of-order and concurrent
events and under crashes between any two writes.

For upload U of a device and log type, the writes happen in this order:

1. Read ``current`` and its version. If U is recorded in it, skip to 4.
2. Merge, and write the diff to a staging key named by U and a digest of the
   diff's bytes.
3. Compare-and-swap ``current``, recording ``U -> digest`` in its parquet
   metadata. On conflict, wait (jittered backoff) and start again at 1: the
   merge and the diff are recomputed against the newer ``current``.
4. Copy the staged diff whose digest ``current`` records for U to U's one diff
   key, then delete the staging object.
5. Write the text from the newest committed ``current``, checking afterwards
   that ``current`` did not move meanwhile (else write it again), so the last
   text written is always that of the last commit.

A crash before 3 leaves U unrecorded, so a retry redoes everything (a stale
staged diff is never referenced). A crash after 3 leaves U recorded with its
diff staged, so a retry finishes 4 and 5 without merging U again.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from logsorter._core import ParsedUpload
from logsorter.collator.keys import (
    OUTPUT_PREFIX,
    RejectedUpload,
    UploadKey,
    current_key,
    diff_key,
    staged_diff_key,
    text_key,
)
from logsorter.collator.merge import (
    empty_snapshot_diff,
    merge_events,
    merge_snapshot,
    with_provenance,
)
from logsorter.collator.records import read_records
from logsorter.collator.reports import report_rejected, report_skipped_lines
from logsorter.collator.schema import TEXT_LINE, Kind, current_schema, log_type
from logsorter.collator.text import in_text_order, render_text, text_lines
from logsorter.storage import Store, UnsafeKey

_METADATA_KEY = b"logsorter.collator"
#: Marks a ``current`` whose rows are in text order (see ``text.py``).
_TEXT_ORDER = "text"
DEFAULT_ATTEMPTS = 30


class TransientError(RuntimeError):
    """A failure a later retry can get past: let the platform retry."""


class CommitConflict(TransientError):
    """Other writers kept replacing ``current`` for the whole retry budget."""


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
    conflicts: int = 0

    @property
    def complete(self) -> bool:
        """Every line of the upload made it into the collated data."""
        return self.status != "rejected" and self.skipped_lines == 0


@dataclass
class Current:
    table: pa.Table
    #: The stored version, None when there is no ``current`` yet.
    etag: str | None
    #: Upload key -> digest of the diff it committed.
    uploads: dict[str, str] = field(default_factory=dict)
    #: ``(collected_at, upload key)`` of the snapshot in ``table`` (snapshot logs).
    snapshot: tuple[int, str] | None = None

    def write(self, sink: BinaryIO) -> None:
        metadata = {"uploads": self.uploads, "snapshot": self.snapshot, "order": _TEXT_ORDER}
        table = self.table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata)})
        _write_parquet(table, sink)


#: Columns of nearly unique values, where a dictionary only costs time.
_NO_DICTIONARY = {"record_key", "content_hash", "extra", "body", TEXT_LINE}
#: Hex digests, which lz4 cannot shrink, and the long text columns, where lz4
#: saves about 60% of their bytes but costs more time to compress and
#: decompress than writing and reading those bytes does.
_UNCOMPRESSED = {"record_key", "content_hash", "body", TEXT_LINE}


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    _write_parquet(table, sink)
    return sink.getvalue()


def _write_parquet(table: pa.Table, sink: BinaryIO) -> None:
    names = table.column_names
    pq.write_table(
        table,
        sink,
        compression={name: "none" if name in _UNCOMPRESSED else "lz4" for name in names},
        use_dictionary=[name for name in names if name not in _NO_DICTIONARY],
        # Min/max of times and numbers help readers skip row groups; of
        # bodies and digests they cost time and help nobody.
        write_statistics=[f.name for f in table.schema if not pa.types.is_string(f.type)],
    )


#: Bytes per read of ``current``: large enough that Python's file calls cost
#: nothing next to decoding.
_READ_BUFFER = 1 << 20


def _collator_metadata(schema: pa.Schema) -> dict[str, Any]:
    return dict(json.loads((schema.metadata or {}).get(_METADATA_KEY, b"{}")))


def load_current(store: Store, key: str, log_type_name: str) -> Current:
    with store.open(key) as opened:
        if opened is None:
            return Current(current_schema(log_type_name).empty_table(), None)
        # Column by column through a small buffer: the whole file is never in
        # memory beside the table.
        file, info = opened
        table = pq.read_table(file, pre_buffer=False, buffer_size=_READ_BUFFER)
    metadata = _collator_metadata(table.schema)
    snapshot = metadata.get("snapshot")
    table = table.replace_schema_metadata(None)
    if TEXT_LINE not in table.column_names:  # written before text lines were kept
        table = table.append_column(TEXT_LINE, text_lines(table, log_type_name))
    if metadata.get("order") != _TEXT_ORDER:  # written before current was kept in order
        table = in_text_order(table, log_type_name)
    return Current(
        table.cast(current_schema(log_type_name)),
        info.etag,
        dict(metadata.get("uploads", {})),
        (int(snapshot[0]), str(snapshot[1])) if snapshot else None,
    )


def collate_upload(
    store: Store,
    key: str,
    *,
    max_bytes: int | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Collate the upload at ``key``. Permanent problems are reported under
    ``collated_logs/errors/`` and returned as a rejected outcome; transient
    ones raise (``TransientError`` or the store's own errors)."""
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
        _check_snapshot_kept_something(records.parsed)
    except (RejectedUpload, UnsafeKey) as err:
        return Outcome(key, "rejected", report_key=report_rejected(store, key, str(err)))

    parsed = records.parsed
    uploaded_at = blob.info.last_modified
    incoming = with_provenance(records.table, parsed.log_type, upload, uploaded_at)
    collected_at = parsed.collected_at
    if collected_at is None:
        collected_at = int(uploaded_at.timestamp() * 1000)
    commit = _Commit(store, upload, parsed.log_type, uploaded_at)
    outcome = commit.run(incoming, (collected_at, key), attempts, sleep)
    outcome.records = parsed.records + parsed.duplicates
    outcome.skipped_lines = len(parsed.rejected)
    if parsed.rejected:
        outcome.report_key = report_skipped_lines(store, key, parsed.rejected)
    return outcome


def _check_snapshot_kept_something(parsed: ParsedUpload) -> None:
    """A snapshot replaces ``current`` whole, so one whose every record was
    rejected would wipe the device's state for a formatting problem: it is
    rejected as an upload instead, and ``current`` keeps the last good one."""
    if parsed.records == 0 and parsed.rejected and log_type(parsed.log_type).kind is Kind.SNAPSHOT:
        first = ", ".join(f"line {line}: {reason}" for line, reason in parsed.rejected[:3])
        raise RejectedUpload(
            f"every record of this {parsed.log_type} snapshot was rejected "
            f"({len(parsed.rejected)} lines; {first})"
        )


class _Commit:
    """Steps 1-5 of the module docstring for one upload."""

    def __init__(self, store: Store, upload: UploadKey, log_type_name: str, at: datetime) -> None:
        self.store = store
        self.upload = upload
        self.log_type = log_type(log_type_name)
        self.current_key = current_key(log_type_name, upload.user_id, upload.device_id)
        self.diff_key = diff_key(log_type_name, upload, at)
        self.staged: set[str] = set()

    def run(
        self,
        incoming: pa.Table,
        snapshot: tuple[int, str],
        attempts: int,
        sleep: Callable[[float], None],
    ) -> Outcome:
        outcome = Outcome(self.upload.key, "collated", self.log_type.name)
        for attempt in range(attempts):
            current = load_current(self.store, self.current_key, self.log_type.name)
            if self.upload.key in current.uploads:
                if attempt == 0:
                    outcome.status = "already_collated"
                self._publish(current, None)
                return outcome
            merged, diff = self._merge(current, incoming, snapshot)
            diff_bytes = _parquet(diff.drop_columns([TEXT_LINE]))
            digest = hashlib.sha256(diff_bytes).hexdigest()[:16]
            staged = staged_diff_key(self.log_type.name, self.upload, digest)
            self.store.put(staged, diff_bytes)
            self.staged.add(staged)
            merged.uploads[self.upload.key] = digest
            merged.etag = self.store.put_if(self.current_key, merged.write, current.etag)
            if merged.etag is not None:
                outcome.added = diff.num_rows
                self._publish(merged, diff_bytes)
                return outcome
            outcome.conflicts += 1
            sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        raise CommitConflict(
            f"{self.upload.key}: {self.current_key} kept changing for {attempts} attempts"
        )

    def _merge(
        self, current: Current, incoming: pa.Table, snapshot: tuple[int, str]
    ) -> tuple[Current, pa.Table]:
        if self.log_type.kind is Kind.EVENT:
            result = merge_events(current.table, incoming, self.log_type.name)
            return Current(result.current, None, dict(current.uploads)), result.diff
        if current.snapshot is not None and snapshot <= current.snapshot:
            # A late, older snapshot: recorded as seen, changes nothing.
            unchanged = Current(current.table, None, dict(current.uploads), current.snapshot)
            return unchanged, empty_snapshot_diff(self.log_type.name)
        result = merge_snapshot(current.table, incoming, self.log_type.name)
        return Current(result.current, None, dict(current.uploads), snapshot), result.diff

    def _publish(self, committed: Current, diff_bytes: bytes | None) -> None:
        """Steps 4 and 5, from the committed state."""
        digest = committed.uploads[self.upload.key]
        staged = staged_diff_key(self.log_type.name, self.upload, digest)
        if diff_bytes is None:
            blob = self.store.get(staged)
            # No staged copy: an earlier run already moved it into place.
            diff_bytes = blob.data if blob else None
        if diff_bytes is not None:
            self.store.put(self.diff_key, diff_bytes)
        for key in sorted(self.staged | {staged}):
            self.store.delete(key)
        self._publish_text(committed)

    def _publish_text(self, committed: Current) -> None:
        key = text_key(self.log_type.name, self.upload.user_id, self.upload.device_id)
        while True:
            self.store.put(key, render_text(committed.table, self.log_type.name))
            latest = self.store.head(self.current_key)
            if latest is None or latest.etag == committed.etag:
                return
            committed = load_current(self.store, self.current_key, self.log_type.name)


def collated_uploads(store: Store) -> set[str]:
    """Upload keys already collated (recorded in a ``current``) or rejected."""
    done: set[str] = set()
    for key in store.list_keys(f"{OUTPUT_PREFIX}current/"):
        if not key.endswith(".parquet"):
            continue
        with store.open(key) as opened:
            # The footer holds the metadata: the rows are never read.
            schema = pq.read_schema(opened[0]) if opened else None
        if schema is not None:
            done.update(_collator_metadata(schema).get("uploads", {}))
    for key in store.list_keys(f"{OUTPUT_PREFIX}errors/"):
        blob = store.get(key)
        report = json.loads(blob.data) if blob else {}
        if report.get("status") == "rejected":
            done.add(report["key"])
    return done
