"""The plain-text form of a current table: a header line of column names,
then one tab-separated line per record, ordered by the log's time field (then
record key). The columns are what the phone sent: the known fields, then
``extra``. Backslashes, tabs and line breaks inside values are escaped
(``\\\\``, ``\\t``, ``\\n``, ``\\r``) and a missing value is written ``\\N``,
so every record stays on one line and the text can be split back into fields.

Each record's line is formatted once, when it first arrives, and kept in the
``text_line`` column of ``current``: rendering a million-record device is then
one sort and one copy, not a million lines formatted again on every upload.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from logsorter.collator.schema import TEXT_LINE, log_type, text_columns

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


def text_lines(records: pa.Table, log_type_name: str) -> pa.ChunkedArray:
    """Each record's line of text, newline included."""
    cells = [_as_text(records[name]) for name in text_columns(log_type_name)]
    line = pc.binary_join_element_wise(*cells, "\t")
    return pc.binary_join_element_wise(line, "", "\n")


def render_text(table: pa.Table, log_type_name: str) -> pa.BufferReader:
    """The text of ``table``, as a reader over one Arrow buffer: the header and
    the lines are gathered into place by a single ``take``, with no further
    copy of the text."""
    time_field = log_type(log_type_name).time_field or "first_seen_at"
    order = pc.sort_indices(table, [(time_field, "ascending"), ("record_key", "ascending")])
    header = pa.array(["\t".join(text_columns(log_type_name)) + "\n"], pa.string())
    lines = pa.chunked_array([header, *table[TEXT_LINE].chunks], pa.string())
    indices = pa.concat_arrays(
        [pa.array([0], pa.uint64()), pc.add(order, pa.scalar(1, pa.uint64()))]
    )
    text = lines.take(indices).combine_chunks()
    # Every line ends in a newline, so the text is the character data
    # between the first and last offsets.
    _, offset_buffer, data = text.buffers()
    offsets = pa.Array.from_buffers(
        pa.int32(), len(text) + 1, [None, offset_buffer], offset=text.offset
    )
    first, last = offsets[0].as_py(), offsets[-1].as_py()
    return pa.BufferReader(data.slice(first, last - first))
