"""Committing one upload's records, safe under duplicate, out-of-order and
concurrent events and under crashes between any two writes.

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
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from logsorter.collator.current import Current, load_current, parquet_bytes
from logsorter.collator.keys import UploadKey, current_key, diff_key, staged_diff_key, text_key
from logsorter.collator.merge import empty_snapshot_diff, merge_events, merge_snapshot
from logsorter.collator.schema import TEXT_LINE, Kind, LogType
from logsorter.collator.text import render_text
from logsorter.storage import Store

DEFAULT_ATTEMPTS = 30


class TransientError(RuntimeError):
    """A failure a later retry can get past: let the platform retry."""


class CommitConflict(TransientError):
    """Other writers kept replacing ``current`` for the whole retry budget."""


@dataclass
class Committed:
    #: ``current`` recorded the upload before this run began (a redelivery).
    already_recorded: bool
    #: Records the upload added to ``current``.
    added: int
    #: Compare-and-swaps lost to other writers, each followed by a retry.
    conflicts: int


class Commit:
    """Steps 1-5 of the module docstring for one upload."""

    def __init__(
        self, store: Store, upload: UploadKey, log_type: LogType, uploaded_at: datetime
    ) -> None:
        self.store = store
        self.upload = upload
        self.log_type = log_type
        self.current_key = current_key(log_type, upload.user_id, upload.device_id)
        self.diff_key = diff_key(log_type, upload, uploaded_at)
        self.staged: set[str] = set()

    def run(
        self,
        incoming: pa.Table,
        snapshot: tuple[int, str],
        attempts: int,
        sleep: Callable[[float], None],
    ) -> Committed:
        for attempt in range(attempts):
            current = load_current(self.store, self.current_key, self.log_type)
            if self.upload.key in current.uploads:
                self._publish(current, None)
                return Committed(already_recorded=attempt == 0, added=0, conflicts=attempt)
            merged, diff = self._merge(current, incoming, snapshot)
            diff_bytes = parquet_bytes(diff.drop_columns([TEXT_LINE]))
            digest = hashlib.sha256(diff_bytes).hexdigest()[:16]
            staged = staged_diff_key(self.log_type, self.upload, digest)
            self.store.put(staged, diff_bytes)
            self.staged.add(staged)
            merged.uploads[self.upload.key] = digest
            merged.etag = self.store.put_if(self.current_key, merged.write, current.etag)
            if merged.etag is not None:
                self._publish(merged, diff_bytes)
                return Committed(already_recorded=False, added=diff.num_rows, conflicts=attempt)
            sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        raise CommitConflict(
            f"{self.upload.key}: {self.current_key} kept changing for {attempts} attempts"
        )

    def _merge(
        self, current: Current, incoming: pa.Table, snapshot: tuple[int, str]
    ) -> tuple[Current, pa.Table]:
        if self.log_type.kind is Kind.EVENT:
            result = merge_events(current.table, incoming, self.log_type)
            return Current(result.current, None, dict(current.uploads)), result.diff
        if current.snapshot is not None and snapshot <= current.snapshot:
            # A late, older snapshot: recorded as seen, changes nothing.
            unchanged = Current(current.table, None, dict(current.uploads), current.snapshot)
            return unchanged, empty_snapshot_diff(self.log_type)
        result = merge_snapshot(current.table, incoming, self.log_type)
        return Current(result.current, None, dict(current.uploads), snapshot), result.diff

    def _publish(self, committed: Current, diff_bytes: bytes | None) -> None:
        """Steps 4 and 5, from the committed state."""
        digest = committed.uploads[self.upload.key]
        staged = staged_diff_key(self.log_type, self.upload, digest)
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
        key = text_key(self.log_type, self.upload.user_id, self.upload.device_id)
        while True:
            self.store.put(key, render_text(committed.table, self.log_type))
            latest = self.store.head(self.current_key)
            if latest is None or latest.etag == committed.etag:
                return
            committed = load_current(self.store, self.current_key, self.log_type)
