"""The plain-text form of a current table: a header line of column names,
then one tab-separated line per record, ordered by the log's time field (then
record key). The columns are what the phone sent: the known fields, then
``extra``. Backslashes, tabs and line breaks inside values are escaped
(``\\\\``, ``\\t``, ``\\n``, ``\\r``) and a missing value is written ``\\N``,
so every record stays on one line and the text can be split back into fields.

The core renders the lines (``_core.text_lines``, in
``rust/collate/text.rs``), reading the columns in place, a batch of rows at a
time; kinds it does not take are turned into strings by Arrow first. ``current``
is kept in text order, so rendering a million-record device is a walk over
its rows, not a sort.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from logsorter._core import text_lines
from logsorter.collator.schema import LogType, text_columns

#: Rows rendered per call into the core: a few megabytes of text each, so
#: the whole text is never in memory at once.
BATCH_ROWS = 1 << 14


def _cells(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as the core renders it, ``int64`` or ``string``: lists
    joined by commas, other kinds as Arrow writes them as strings."""
    if pa.types.is_list(column.type):
        return pc.binary_join(column, ",")
    if pa.types.is_int64(column.type) or pa.types.is_string(column.type):
        return column
    return column.cast(pa.string())


def _sort_keys(log_type: LogType) -> list[tuple[str, str]]:
    time_field = log_type.time_field or "first_seen_at"
    return [(time_field, "ascending"), ("record_key", "ascending")]


def in_text_order(table: pa.Table, log_type: LogType) -> pa.Table:
    return table.take(pc.sort_indices(table, _sort_keys(log_type)))


def with_rows_in_text_order(ordered: pa.Table, rows: pa.Table, log_type: LogType) -> pa.Table:
    """``ordered`` (in text order) with ``rows`` added in their places. Only
    the part of ``ordered`` that sorts after the first new row is gathered
    again: new records usually come after every known one, and then nothing
    of ``ordered`` is copied."""
    if rows.num_rows == 0:
        return ordered
    rows = in_text_order(rows, log_type)
    start = _first_after(ordered, rows.slice(0, 1), log_type)
    tail = pa.concat_tables([ordered.slice(start), rows])
    if start < ordered.num_rows:
        tail = in_text_order(tail, log_type)
    return pa.concat_tables([ordered.slice(0, start), tail])


def _first_after(ordered: pa.Table, row: pa.Table, log_type: LogType) -> int:
    """How many rows of ``ordered`` sort before ``row``: a binary search in
    which each comparison is Arrow's own sort of two rows, so nulls and ties
    are placed exactly as ``in_text_order`` places them."""
    keys = _sort_keys(log_type)
    names = [name for name, _ in keys]
    row = row.select(names)
    low, high = 0, ordered.num_rows
    while low < high:
        middle = (low + high) // 2
        pair = pa.concat_tables([ordered.slice(middle, 1).select(names), row])
        if pc.sort_indices(pair, keys)[0].as_py() == 0:
            low = middle + 1
        else:
            high = middle
    return low


def render_text(
    table: pa.Table, log_type: LogType, batch_rows: int = BATCH_ROWS
) -> Callable[[BinaryIO], None]:
    """A writer of the text of ``table`` (in text order): the header, then
    the records' lines, ``batch_rows`` at a time."""
    names = text_columns(log_type)
    header = ("\t".join(names) + "\n").encode()
    cells = pa.table([_cells(table[name]) for name in names], names=names)

    def write(sink: BinaryIO) -> None:
        sink.write(header)
        for batch in cells.to_batches(max_chunksize=batch_rows):
            sink.write(text_lines(batch.columns))

    return write
