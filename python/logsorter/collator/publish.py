"""Publishing a committed ``current``: steps 4 and 5 of ``commit.py``. Every
upload version ``current`` records whose diff is still staged gets it moved
to its diff key, and the text is rendered from the newest ``current`` unless
it already is. Whoever touches a device next completes what a crash left
half done: the next commit, a redelivery, the dead-letter collator or a
sweep.

Whether the text is that of a ``current`` is kept in a small marker beside
it (``collated_logs/published/``): the version of ``current`` it was
rendered from and the version of the text written. A text written later by
anyone else changes the text's version, so a marker can be stale (then the
text is rendered again) but never claims a text it does not describe.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from logsorter.collator.current import CommittedUpload, Current, load_current
from logsorter.collator.errors import CommitConflict
from logsorter.collator.keys import (
    Device,
    current_key,
    diff_key,
    published_key,
    staged_diff_key,
    staging_prefix,
    text_key,
)
from logsorter.collator.schema import LogType
from logsorter.collator.text import render_text
from logsorter.storage import Store

#: A staged diff no ``current`` records is from a commit that lost its
#: compare-and-swap or crashed before it; younger ones may still be in flight.
STALE_STAGED_AFTER = timedelta(hours=1)
#: Times the text is rendered again because ``current`` moved meanwhile.
TEXT_ATTEMPTS = 20


class Publication:
    def __init__(self, store: Store, log_type: LogType, device: Device) -> None:
        self.store = store
        self.log_type = log_type
        self.device = device
        self.current_key = current_key(log_type, device)
        self.text_key = text_key(log_type, device)
        self.marker_key = published_key(log_type, device)

    def complete(self, committed: Current, fresh: dict[str, bytes] | None = None) -> None:
        """Publish ``committed`` (a ``current`` as stored). ``fresh`` holds
        diffs just staged, by staged key, so they need not be read back."""
        fresh = fresh or {}
        staged = {self._staged_key(c): c for c in committed.uploads}
        listed = dict(self.store.list_objects(staging_prefix(self.log_type, self.device)))
        now = datetime.now(UTC)
        for key in sorted(listed.keys() | fresh.keys()):
            recorded = staged.get(key)
            if recorded is None:
                if key in listed and now - listed[key].last_modified > STALE_STAGED_AFTER:
                    self.store.delete(key)
                continue
            data = fresh.get(key)
            if data is None:
                blob = self.store.get(key)
                if blob is None:
                    continue  # another publisher moved it meanwhile
                data = blob.data
            self.store.put(self._diff_key(recorded), data)
            self.store.delete(key)
        self._publish_text(committed)

    def is_complete(self, etag: str, uploads: list[CommittedUpload]) -> bool:
        """Nothing recorded in the ``current`` at version ``etag`` (which
        records ``uploads``) is still staged, and the text is that current's."""
        staged = {self._staged_key(c) for c in uploads}
        listed = self.store.list_keys(staging_prefix(self.log_type, self.device))
        return not staged.intersection(listed) and self._text_is_of(etag)

    def _staged_key(self, committed: CommittedUpload) -> str:
        return staged_diff_key(
            self.log_type, self.device, committed.upload.version_id, committed.diff
        )

    def _diff_key(self, committed: CommittedUpload) -> str:
        upload = committed.upload
        return diff_key(self.log_type, self.device, upload.uploaded_at, upload.version_id)

    def _text_is_of(self, current_etag: str | None) -> bool:
        blob = self.store.get(self.marker_key)
        if blob is None:
            return False
        try:
            marker = json.loads(blob.data)
        except ValueError:
            return False
        text = self.store.head(self.text_key)
        return (
            isinstance(marker, dict)
            and marker.get("current") == current_etag
            and text is not None
            and marker.get("text") == text.etag
        )

    def _publish_text(self, committed: Current) -> None:
        """Step 5: the text of the newest ``current``. It is written, then
        ``current`` is checked not to have moved meanwhile (else it is
        written again), so the last text written is always that of the last
        commit."""
        for _ in range(TEXT_ATTEMPTS):
            if self._text_is_of(committed.etag):
                return
            text_version = self.store.put(
                self.text_key, render_text(committed.table, self.log_type)
            )
            latest = self.store.head(self.current_key)
            if latest is None or latest.etag == committed.etag:
                marker = {"current": committed.etag, "text": text_version}
                self.store.put(self.marker_key, json.dumps(marker).encode())
                return
            committed = load_current(self.store, self.current_key, self.log_type)
        # Commits keep landing: each publishes its own text after it, and the
        # marker (not written here) tells the next reader to check again.
        raise CommitConflict(f"{self.text_key}: {self.current_key} kept changing")
