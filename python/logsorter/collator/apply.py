"""Applying one upload to a device's ``current``: the merge by log kind, and
the diff it yields as the bytes that are stored. Shared by a commit and by a
rebuild, so both give the same result for the same uploads."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from logsorter.collator.current import Current, parquet_bytes
from logsorter.collator.merge import empty_snapshot_diff, merge_events, merge_snapshot
from logsorter.collator.records import Upload
from logsorter.collator.schema import Kind


def merge_upload(current: Current, upload: Upload) -> tuple[Current, pa.Table]:
    """``current`` with ``upload``'s records merged in (the upload is not yet
    recorded in it), and the diff: what the upload changed."""
    log_type = upload.log_type
    if log_type.kind is Kind.EVENT:
        result = merge_events(current.table, upload.records, log_type)
        return current.derived(result.current, None), result.diff
    if current.snapshot is not None and upload.snapshot <= current.snapshot:
        # A late, older snapshot: recorded as seen, changes nothing.
        return current.derived(current.table, current.snapshot), empty_snapshot_diff(log_type)
    result = merge_snapshot(current.table, upload.records, log_type)
    return current.derived(result.current, upload.snapshot), result.diff


def stored_diff(diff: pa.Table) -> tuple[bytes, str]:
    """The diff as stored (parquet) and the digest of those bytes."""
    data = parquet_bytes(diff)
    return data, hashlib.sha256(data).hexdigest()[:16]
