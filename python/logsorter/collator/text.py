"""The plain-text form of a current table: a header line of column names,
then one tab-separated line per record, ordered by the log's time field. The
columns are what the phone sent (known fields, then ``extra``) and when it was
first and last seen; the ids are in the file's path, and the keys are for
machines, in the parquet file.
Backslashes, tabs and line breaks inside values are escaped (``\\\\``,
``\\t``, ``\\n``, ``\\r``) and a missing value is written ``\\N``, so every
record stays on one line and the text can be split back into fields.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc

from logsorter.collator.schema import log_type

_HIDDEN = frozenset(
    ("user_id", "device_serial_number", "device_id", "record_key", "content_hash", "source_key")
)
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
NULL = "\\N"
#: Rows formatted at a time: the intermediate string columns of a whole
#: million-row table would cost several times the text itself in memory.
_BATCH_ROWS = 65_536


def _as_text(column: pa.Array) -> pa.Array:
    if pa.types.is_list(column.type):
        column = pc.binary_join(column, ",")
    elif pa.types.is_timestamp(column.type):
        # Formatting through the zone database is ~25x slower, and all times are UTC.
        column = pc.binary_join_element_wise(
            column.cast(pa.timestamp(column.type.unit)).cast(pa.string()), "Z", ""
        )
    elif not pa.types.is_string(column.type):
        # Numbers and booleans never need escaping.
        return pc.fill_null(column.cast(pa.string()), NULL)
    if pc.any(pc.match_substring_regex(column, r"[\\\t\n\r]")).as_py():
        for raw, escaped in _ESCAPES:
            column = pc.replace_substring(column, raw, escaped)
    return pc.fill_null(column, NULL)


def _write_lines(rows: pa.Table, names: list[str], out: io.BytesIO) -> None:
    cells = [_as_text(rows[name].combine_chunks()) for name in names]
    lines = pc.binary_join_element_wise(*cells, "\t")
    # One list holding every line, joined by newlines into a single string.
    joined = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines)
    out.write(pc.binary_join(joined, "\n")[0].as_buffer())
    out.write(b"\n")


def in_text_order(table: pa.Table, log_type_name: str) -> pa.Table:
    """``table`` sorted as its text lists it. ``current`` is stored in this
    order, so rendering it is a straight walk with no gather per batch."""
    time_field = log_type(log_type_name).time_field or "first_seen_at"
    return table.take(
        pc.sort_indices(table, [(time_field, "ascending"), ("record_key", "ascending")])
    )


def render_text(table: pa.Table) -> io.BytesIO:
    """The text of a table already in text order (see ``in_text_order``)."""
    names = [name for name in table.column_names if name not in _HIDDEN]
    # Written batch by batch into one buffer, never holding the text twice.
    out = io.BytesIO()
    out.write("\t".join(names).encode() + b"\n")
    for start in range(0, table.num_rows, _BATCH_ROWS):
        _write_lines(table.slice(start, _BATCH_ROWS), names, out)
    out.seek(0)
    return out
