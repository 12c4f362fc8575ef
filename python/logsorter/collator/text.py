"""The plain-text form of a current table: a header line of column names,
then one tab-separated line per record, ordered by the log's time field.
Backslashes, tabs and line breaks inside values are escaped (``\\\\``,
``\\t``, ``\\n``, ``\\r``) and a missing value is written ``\\N``, so every
record stays on one line and the text can be split back into fields.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from logsorter.collator.schema import log_type

#: Internal to change detection; no use to a reader.
_HIDDEN = ("content_hash",)
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
NULL = "\\N"


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_list(column.type):
        column = pc.binary_join(column, ",")
    elif not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    for raw, escaped in _ESCAPES:
        column = pc.replace_substring(column, raw, escaped)
    return pc.fill_null(column, NULL)


def render_text(table: pa.Table, log_type_name: str) -> bytes:
    time_field = log_type(log_type_name).time_field or "first_seen_at"
    table = table.sort_by([(time_field, "ascending"), ("record_key", "ascending")])
    names = [name for name in table.column_names if name not in _HIDDEN]
    header = "\t".join(names) + "\n"
    if table.num_rows == 0:
        return header.encode()
    lines = pc.binary_join_element_wise(*(_as_text(table[name]) for name in names), "\t")
    lines = lines.combine_chunks().cast(pa.large_string())
    joined = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines)
    body: bytes = (
        pc.binary_join(joined, pa.scalar("\n", pa.large_string()))[0].as_buffer().to_pybytes()
    )
    return header.encode() + body + b"\n"
