"""What a data engineer would write with Polars instead of the collator, kept
as a benchmark baseline: the same three outputs for an SMS upload (the
merged current, the upload's diff and the text, in the collator's text
format), with no safety under concurrency or crashes.

Polars has no BLAKE2b, so the record keys and content hashes, which must be
the collator's for the merge to find known records, are computed in one
Python pass over the upload's columns. The current it writes has no
``text_line`` column: the text is rendered again from the whole table, by
Polars' own (multithreaded) string kernels.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

FIELDS: dict[str, Any] = {
    "address": pl.String,
    "date": pl.Int64,
    "date_sent": pl.Int64,
    "type": pl.Int64,
    "body": pl.String,
    "read": pl.Int64,
    "seen": pl.Int64,
    "status": pl.Int64,
    "service_center": pl.String,
    "sub_id": pl.Int64,
    "thread_id": pl.Int64,
}
IDENTITY = ("address", "type", "date", "body")
ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _json(name: str) -> pl.Expr:
    """Each value of a column as JSON: Polars escapes the strings, as
    serde_json does for the collator."""
    if FIELDS[name] is pl.String:
        encoded = pl.struct(name).struct.json_encode()
        return encoded.str.slice(len(name) + 4, encoded.str.len_chars() - len(name) - 5)
    return pl.col(name).cast(pl.String)


def _blake2b(texts: pl.Series) -> pl.Series:
    return pl.Series(
        [hashlib.blake2b(text.encode(), digest_size=16).hexdigest() for text in texts],
        dtype=pl.String,
    )


def _hashes(records: pl.DataFrame) -> pl.DataFrame:
    """``record_key`` and ``content_hash`` as the collator computes them: the
    identity as a JSON list; the present fields as the members of a JSON
    object (opened, never closed), then the extras."""
    identity = pl.format("[{}]", pl.concat_str([_json(name) for name in IDENTITY], separator=","))
    present = [
        pl.when(pl.col(name).is_not_null()).then(pl.format(f'"{name}":{{}}', _json(name)))
        for name in FIELDS
    ]
    content = pl.concat_str(
        pl.lit("{"),
        pl.concat_str(present, separator=",", ignore_nulls=True),
        pl.col("extra").fill_null(""),
    )
    hashed = records.select(identity.alias("key"), content.alias("content"))
    return records.with_columns(
        record_key=_blake2b(hashed["key"]), content_hash=_blake2b(hashed["content"])
    )


def polars_collate(
    current_path: Path, upload: bytes, upload_key: str, uploaded_at: datetime, out_dir: Path
) -> int:
    """Merges an SMS upload into the current parquet at ``current_path``;
    returns the number of records it added."""
    if upload[:2] == b"\x1f\x8b":
        upload = gzip.decompress(upload)
    _, _, lines = upload.partition(b"\n")
    records = pl.read_ndjson(io.BytesIO(lines), infer_schema_length=None)
    extras = [name for name in records.columns if name not in FIELDS]
    extra = pl.struct(sorted(extras)).struct.json_encode() if extras else pl.lit(None, pl.String)
    records = records.select(
        *(
            pl.col(name).cast(kind) if name in records.columns else pl.lit(None, kind).alias(name)
            for name, kind in FIELDS.items()
        ),
        extra.alias("extra"),
    )
    records = _hashes(records).unique("record_key", keep="first", maintain_order=True)

    # The collator's own current keeps each record's text line; the data
    # engineer's would not, so that column is never read.
    columns = [name for name in pl.read_parquet_schema(current_path) if name != "text_line"]
    current = pl.read_parquet(current_path, columns=columns)
    at = pl.lit(uploaded_at).dt.cast_time_unit("ms").dt.replace_time_zone("UTC")
    resent = pl.col("record_key").is_in(records["record_key"].implode())
    current = current.with_columns(
        first_seen_at=pl.when(resent & (pl.col("first_seen_at") > at))
        .then(at)
        .otherwise(pl.col("first_seen_at")),
        last_seen_at=pl.when(resent & (pl.col("last_seen_at") < at))
        .then(at)
        .otherwise(pl.col("last_seen_at")),
    )
    user, serial, device = upload_key.split("/")[2:5]
    added = records.filter(~pl.col("record_key").is_in(current["record_key"].implode()))
    added = added.with_columns(
        user_id=pl.lit(user),
        device_serial_number=pl.lit(serial),
        device_id=pl.lit(device),
        first_seen_at=at,
        last_seen_at=at,
        source_key=pl.lit(upload_key),
        app_version=pl.lit(None, pl.String),
    ).select(current.columns)
    merged = pl.concat([current, added], how="vertical_relaxed").sort(["date", "record_key"])

    out_dir.mkdir(parents=True, exist_ok=True)
    merged.write_parquet(out_dir / "current.parquet")
    added.write_parquet(out_dir / "diff.parquet")
    text_columns = [*FIELDS, "extra"]
    with open(out_dir / "sms.txt", "wb") as text:
        text.write(("\t".join(text_columns) + "\n").encode())
        lines = pl.concat_str([_as_text(merged, name) for name in text_columns], separator="\t")
        merged.select(lines).write_csv(text, include_header=False, quote_style="never")
    return added.height


def _as_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A column's cells in the text; strings are escaped only when one of
    them needs it, as the collator does."""
    column = pl.col(name)
    is_string = FIELDS.get(name, pl.String) is pl.String
    if is_string and frame[name].str.contains(r"[\\\t\n\r]").any():
        for raw, escaped in ESCAPES:
            column = column.str.replace_all(raw, escaped, literal=True)
    return column.cast(pl.String).fill_null("\\N")
