"""Merging one upload's records into a device's current table, with Arrow
compute only: no Python loop over records.

Event logs: records whose key is new are added (they are the diff); records
seen again only widen ``first_seen_at``/``last_seen_at``. Snapshot logs: a
newer snapshot replaces the rows, keeping each surviving row's first sighting
and source; the diff lists added, removed and changed rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from logsorter.collator.keys import UploadKey
from logsorter.collator.schema import REPEATED, TIMESTAMP, LogType, current_schema
from logsorter.collator.text import in_text_order, with_rows_in_text_order

CHANGE = "change"


@dataclass(frozen=True)
class Merged:
    current: pa.Table
    #: What this upload changed: the rows it added (event logs), or the rows
    #: with a ``change`` column (snapshot logs).
    diff: pa.Table


def with_provenance(
    records: pa.Table,
    log_type: LogType,
    upload: UploadKey,
    uploaded_at: datetime,
    app_version: str | None,
) -> pa.Table:
    """The parser's table in the ``current`` schema, stamped with its upload."""
    rows = records.num_rows
    at = pa.scalar(uploaded_at, TIMESTAMP)

    def repeated(value: str | None) -> pa.DictionaryArray:
        if value is None:
            return pa.nulls(rows, REPEATED)
        return pa.DictionaryArray.from_arrays(pa.nulls(rows, pa.int32()).fill_null(0), [value])

    columns = {
        "user_id": repeated(upload.user_id),
        "device_serial_number": repeated(upload.device_serial_number),
        "device_id": repeated(upload.device_id),
        "first_seen_at": pa.nulls(rows, TIMESTAMP).fill_null(at),
        "last_seen_at": pa.nulls(rows, TIMESTAMP).fill_null(at),
        "source_key": repeated(upload.key),
        "app_version": repeated(app_version),
    }
    schema = current_schema(log_type)
    return pa.table(
        [columns[f.name] if f.name in columns else records[f.name] for f in schema],
        schema=schema,
    )


def merge_events(current: pa.Table, incoming: pa.Table, log_type: LogType) -> Merged:
    """``current`` is in text order, and so is the merged table."""
    if incoming.num_rows == 0:
        return Merged(current, incoming)
    # Hash the upload's keys, not current's: the upload is the small side.
    seen = pc.is_in(current["record_key"], value_set=incoming["record_key"])
    known = current["record_key"].filter(seen)
    added = incoming.filter(pc.invert(pc.is_in(incoming["record_key"], value_set=known)))
    at = incoming["last_seen_at"][0]
    first = current["first_seen_at"]
    last = current["last_seen_at"]
    current = current.set_column(
        current.schema.get_field_index("first_seen_at"),
        "first_seen_at",
        pc.if_else(pc.and_(seen, pc.greater(first, at)), at, first),
    ).set_column(
        current.schema.get_field_index("last_seen_at"),
        "last_seen_at",
        pc.if_else(pc.and_(seen, pc.less(last, at)), at, last),
    )
    return Merged(with_rows_in_text_order(current, added, log_type), added)


def merge_snapshot(current: pa.Table, incoming: pa.Table, log_type: LogType) -> Merged:
    """``incoming`` replaces ``current``; the caller has checked it is newer.
    The merged table is in text order."""
    old_index = pc.index_in(incoming["record_key"], value_set=current["record_key"])
    old_hash = current["content_hash"].take(old_index)
    old_first = current["first_seen_at"].take(old_index)
    replaced = incoming.set_column(
        incoming.schema.get_field_index("first_seen_at"),
        "first_seen_at",
        pc.if_else(
            pc.fill_null(pc.less(old_first, incoming["first_seen_at"]), False),
            old_first,
            incoming["first_seen_at"],
        ),
    )
    # A surviving row keeps the provenance of the upload that first brought it.
    for provenance in ("source_key", "app_version"):
        replaced = replaced.set_column(
            replaced.schema.get_field_index(provenance),
            provenance,
            pc.coalesce(current[provenance].take(old_index), incoming[provenance]),
        )
    added = replaced.filter(pc.is_null(old_index))
    changed = replaced.filter(pc.fill_null(pc.not_equal(old_hash, incoming["content_hash"]), False))
    removed = current.filter(
        pc.invert(pc.is_in(current["record_key"], value_set=incoming["record_key"]))
    )
    diff = pa.concat_tables(
        [
            _labelled(added, "added"),
            _labelled(removed, "removed"),
            _labelled(changed, "changed"),
        ]
    )
    return Merged(in_text_order(replaced, log_type), diff)


def _labelled(rows: pa.Table, change: str) -> pa.Table:
    return rows.append_column(CHANGE, pa.array([change] * rows.num_rows, pa.string()))


def empty_snapshot_diff(log_type: LogType) -> pa.Table:
    return _labelled(current_schema(log_type).empty_table(), "added")
