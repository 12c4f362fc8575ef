"""Committing one upload's records, safe under duplicate, out-of-order and
concurrent events and under crashes between any two writes.

For upload version U (a key and the bytes it held) of a device and log type,
the writes happen in this order:

1. Read ``current`` and its version. If U is recorded in it, skip to 4.
2. Merge, and write the diff to a staging key named by U and a digest of the
   diff's bytes.
3. Compare-and-swap ``current``, recording U and that digest in its parquet
   metadata. On conflict, wait (jittered backoff) and start again at 1: the
   merge and the diff are recomputed against the newer ``current``.
4. Move every staged diff that ``current`` records to its diff key (U's, and
   any a crash left behind), deleting the staged copy.
5. Write the text from the newest committed ``current`` unless it already is
   that text (``publish.py``).

A crash before 3 leaves U unrecorded, so a retry redoes everything (a stale
staged diff is never referenced). A crash after 3 leaves U recorded with its
diff staged: whoever touches the device next (a redelivery, the dead-letter
collator, the next upload, a sweep) finishes 4 and 5 without merging U again.

A ``current`` that cannot be read is quarantined and rebuilt from the
device's uploads (``rebuild.py``) before the commit goes on.

An erasure of the device (``forget.py``) may race the commit: its tombstone
is checked after the staged diff is written, just before 3 (a tombstone
there stops the commit), and again after 5 (a tombstone then means the
erasure may have listed the device before some of these writes, so the
commit erases the device's data itself).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from logsorter.collator.apply import merge_upload, stored_diff
from logsorter.collator.current import CommittedUpload, CorruptCurrent, Current, load_current
from logsorter.collator.errors import CommitConflict
from logsorter.collator.forget import erase_device_after_commit
from logsorter.collator.keys import current_key, staged_diff_key
from logsorter.collator.publish import Publication
from logsorter.collator.rebuild import rebuild_corrupt_current
from logsorter.collator.records import Upload
from logsorter.collator.schema import LogType
from logsorter.collator.tombstones import Tombstone, refusing_tombstone
from logsorter.storage import Store

DEFAULT_ATTEMPTS = 30


@dataclass
class Committed:
    #: ``current`` recorded the upload version before this run began (a redelivery).
    already_recorded: bool
    #: Records the upload added to ``current``.
    added: int
    #: Compare-and-swaps lost to other writers, each followed by a retry.
    conflicts: int
    #: The device was erased meanwhile: nothing of the upload remains.
    forgotten: Tombstone | None = None


class Commit:
    """Steps 1-5 of the module docstring for one upload version."""

    def __init__(
        self,
        store: Store,
        upload: Upload,
        *,
        max_bytes: int | None = None,
        dead_letter: bool = False,
    ) -> None:
        self.store = store
        self.upload = upload
        self.log_type: LogType = upload.log_type
        self.device = upload.key.device
        self.current_key = current_key(self.log_type, self.device)
        self.publication = Publication(store, self.log_type, self.device)
        #: How uploads are read again if ``current`` must be rebuilt.
        self.max_bytes = max_bytes
        self.dead_letter = dead_letter

    def run(self, attempts: int, sleep: Callable[[float], None]) -> Committed:
        for attempt in range(attempts):
            current = self._load()
            if current.recorded(self.upload.version) is not None:
                self.publication.complete(current)
                return self._unless_forgotten(Committed(attempt == 0, 0, attempt))
            merged, diff = merge_upload(current, self.upload)
            data, digest = stored_diff(diff)
            version = self.upload.version
            staged = staged_diff_key(self.log_type, self.device, version.version_id, digest)
            self.store.put(staged, data)
            tombstone = self._tombstone()
            if tombstone is not None:
                self.store.delete(staged)
                return Committed(False, 0, attempt, forgotten=tombstone)
            merged.uploads.append(CommittedUpload(version, digest))
            merged.etag = self.store.put_if(self.current_key, merged.write, current.etag)
            if merged.etag is not None:
                self.publication.complete(merged, {staged: data})
                return self._unless_forgotten(Committed(False, diff.num_rows, attempt))
            sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        raise CommitConflict(
            f"{self.upload.key.key}: {self.current_key} kept changing for {attempts} attempts"
        )

    def _unless_forgotten(self, committed: Committed) -> Committed:
        """After the last write: an erasure that began meanwhile may have
        listed the device before those writes, so they are erased here."""
        tombstone = self._tombstone()
        if tombstone is None:
            return committed
        erase_device_after_commit(self.store, self.device, tombstone)
        return Committed(False, 0, committed.conflicts, forgotten=tombstone)

    def _tombstone(self) -> Tombstone | None:
        return refusing_tombstone(self.store, self.device, self.upload.version.uploaded_at)

    def _load(self) -> Current:
        try:
            return load_current(self.store, self.current_key, self.log_type)
        except CorruptCurrent as err:
            return rebuild_corrupt_current(
                self.store,
                self.log_type,
                self.device,
                err,
                skip=self.upload.key.key,
                max_bytes=self.max_bytes,
                dead_letter=self.dead_letter,
            )
