"""The text the core renders from a table's columns, against a line-by-line
oracle in Python, over every kind of cell, nulls, escapes, chunking, sliced
(offset) arrays and batch sizes."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logsorter._core import text_lines
from logsorter.collator.schema import LogType, current_schema, log_type, text_columns
from logsorter.collator.text import render_text

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_TEXT = st.text(st.sampled_from("ab é\\\t\n\r,1"), max_size=6)


def _escaped(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _cell(value: Any, kind: pa.DataType) -> str:
    if value is None:
        return "\\N"
    if pa.types.is_list(kind):
        return "\\N" if None in value else _escaped(",".join(value))
    if pa.types.is_string(kind):
        return _escaped(value)
    if pa.types.is_floating(kind):
        return str(pa.array([value], kind).cast(pa.string())[0])  # as Arrow writes it
    if pa.types.is_boolean(kind):
        return "true" if value else "false"
    return str(value)


def _oracle(table: pa.Table, kind: LogType) -> bytes:
    names = text_columns(kind)
    types = [table.schema.field(name).type for name in names]
    lines = ["\t".join(names)]
    for row in table.select(names).to_pylist():
        lines.append("\t".join(_cell(row[n], t) for n, t in zip(names, types, strict=True)))
    return ("\n".join(lines) + "\n").encode()


def _values(kind: pa.DataType) -> st.SearchStrategy[Any]:
    if pa.types.is_list(kind):
        return st.lists(st.one_of(st.none(), _TEXT), max_size=3)
    if pa.types.is_string(kind):
        return _TEXT
    if pa.types.is_floating(kind):
        return st.floats(allow_nan=False, allow_infinity=False, width=64)
    if pa.types.is_boolean(kind):
        return st.booleans()
    return st.integers(-(2**63), 2**63 - 1)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, LogType]:
    kind = log_type(draw(st.sampled_from(["sms", "location", "contacts"])))
    schema = current_schema(kind)
    names = text_columns(kind)
    rows = draw(st.integers(0, 30))
    columns = [
        pa.array(
            draw(
                st.lists(
                    st.one_of(st.none(), _values(schema.field(n).type)),
                    min_size=rows,
                    max_size=rows,
                )
            ),
            schema.field(n).type,
        )
        for n in names
    ]
    table = pa.table(columns, names=names)
    # Sliced and re-chunked: arrays with offsets and batches that cut them.
    skip = draw(st.integers(0, table.num_rows))
    cut = draw(st.integers(0, table.num_rows - skip))
    table = table.slice(skip)
    return pa.concat_tables([table.slice(0, cut), table.slice(cut)]), kind


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(1, 8))
def test_text_is_the_oracles_line_by_line(case: tuple[pa.Table, LogType], batch_rows: int) -> None:
    table, kind = case
    sink = io.BytesIO()
    render_text(table, kind, batch_rows)(sink)
    assert sink.getvalue() == _oracle(table, kind)


def test_cells_of_another_type_are_refused() -> None:
    with pytest.raises(TypeError, match="int64 or string"):
        text_lines([pa.array([1.5])])


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one length"):
        text_lines([pa.array([1, 2]), pa.array(["a"])])


def test_no_columns_render_nothing() -> None:
    assert text_lines([]) == b""
