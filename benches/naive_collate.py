"""The straightforward collator, kept as the benchmark baseline: every line
through ``json.loads``, a dict keyed by identity for dedupe, rows as Python
dicts, and pyarrow only to write the results. Same outputs as the real one for
an event log (current, the upload's diff, text); no safety under concurrency.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

IDENTITY = ("address", "type", "date", "body")
KNOWN = (
    "address",
    "date",
    "date_sent",
    "type",
    "body",
    "read",
    "seen",
    "status",
    "service_center",
    "sub_id",
    "thread_id",
)


def naive_collate(current_path: Path, upload: bytes, upload_key: str, out_dir: Path) -> int:
    """Merges an SMS upload into the current parquet at ``current_path``;
    returns the number of records it added."""
    if upload[:2] == b"\x1f\x8b":
        upload = gzip.decompress(upload)
    lines = [line for line in upload.decode("utf-8-sig").splitlines() if line.strip()]
    rows: dict[str, dict[str, Any]] = {
        row["record_key"]: row for row in pq.read_table(current_path).to_pylist()
    }
    added = []
    for line in lines[1:]:
        record = json.loads(line)
        identity = json.dumps(
            [record.get(name) for name in IDENTITY], separators=(",", ":"), ensure_ascii=False
        )
        key = hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
        if key in rows:
            continue
        extra = {k: v for k, v in record.items() if k not in KNOWN}
        row = {name: record.get(name) for name in KNOWN}
        row.update(
            extra=json.dumps(extra, sort_keys=True) if extra else None,
            record_key=key,
            source_key=upload_key,
        )
        rows[key] = row
        added.append(row)
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows.values())), out_dir / "current.parquet")
    pq.write_table(pa.Table.from_pylist(added), out_dir / "diff.parquet")
    ordered = sorted(rows.values(), key=lambda row: (row["date"], row["record_key"]))
    names = list(ordered[0]) if ordered else []
    with open(out_dir / "sms.txt", "w", encoding="utf-8") as text:
        text.write("\t".join(names) + "\n")
        for row in ordered:
            text.write("\t".join(_escape(row.get(name)) for name in names) + "\n")
    return len(added)


def _escape(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
