"""The plain-text form of a current table: a header line of column names,
then one tab-separated line per record, ordered by the log's time field (then
record key). The columns are what the phone sent: the known fields, then
``extra``. Backslashes, tabs and line breaks inside values are escaped
(``\\\\``, ``\\t``, ``\\n``, ``\\r``) and a missing value is written ``\\N``,
so every record stays on one line and the text can be split back into fields.

Each record's line is formatted once, when it first arrives, and kept in the
``text_line`` column of ``current``, and ``current`` is kept in text order:
rendering a million-record device is then one copy of that column, not a sort
and a million lines formatted again on every upload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from logsorter.collator.schema import TEXT_LINE, LogType, text_columns

_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
NULL = "\\N"


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_list(column.type):
        column = pc.binary_join(column, ",")
    elif not pa.types.is_string(column.type):
        # Numbers and booleans never need escaping.
        return pc.fill_null(column.cast(pa.string()), NULL)
    if pc.any(pc.match_substring_regex(column, r"[\\\t\n\r]")).as_py():
        for raw, escaped in _ESCAPES:
            column = pc.replace_substring(column, raw, escaped)
    return pc.fill_null(column, NULL)


def text_lines(records: pa.Table, log_type: LogType) -> pa.ChunkedArray:
    """Each record's line of text, newline included."""
    cells = [_as_text(records[name]) for name in text_columns(log_type)]
    line = pc.binary_join_element_wise(*cells, "\t")
    return pc.binary_join_element_wise(line, "", "\n")


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


def render_text(table: pa.Table, log_type: LogType) -> Callable[[BinaryIO], None]:
    """A writer of the text of ``table`` (in text order): the header, then
    each chunk's lines straight from Arrow's buffer, with no copy gathered."""
    header = ("\t".join(text_columns(log_type)) + "\n").encode()
    chunks = [chunk for chunk in table[TEXT_LINE].chunks if len(chunk)]

    def write(sink: BinaryIO) -> None:
        sink.write(header)
        for lines in chunks:
            sink.write(_characters(lines))

    return write


def _characters(lines: pa.StringArray) -> pa.Buffer:
    # Every line ends in a newline, so the text is the character data
    # between the first and last offsets.
    _, offset_buffer, data = lines.buffers()
    offsets = pa.Array.from_buffers(
        pa.int32(), len(lines) + 1, [None, offset_buffer], offset=lines.offset
    )
    first, last = offsets[0].as_py(), offsets[-1].as_py()
    return data.slice(first, last - first)
