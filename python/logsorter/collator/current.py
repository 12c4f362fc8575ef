"""The ``current`` file of a device and log type: every record the device
ever sent (event logs) or its latest snapshot, in text order (see
``text.py``), as parquet. Its metadata records which uploads it contains and
the digest of the diff each committed, which is what makes a commit
recognisable after a crash.

Diffs are written with the same parquet policy, so it lives here too.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from logsorter.collator.schema import TEXT_LINE, LogType, current_schema
from logsorter.storage import Store

_METADATA_KEY = b"logsorter.collator"

#: Columns of nearly unique values, where a dictionary only costs time.
_NO_DICTIONARY = {"record_key", "content_hash", "extra", "body", TEXT_LINE}
#: Hex digests, which lz4 cannot shrink, and the long text columns, where lz4
#: saves about 60% of their bytes but costs more time to compress and
#: decompress than writing and reading those bytes does.
_UNCOMPRESSED = {"record_key", "content_hash", "body", TEXT_LINE}
#: Bytes per read of ``current``: large enough that Python's file calls cost
#: nothing next to decoding.
_READ_BUFFER = 1 << 20


@dataclass
class Current:
    table: pa.Table
    #: The stored version, None when there is no ``current`` yet.
    etag: str | None
    #: Upload key -> digest of the diff it committed.
    uploads: dict[str, str] = field(default_factory=dict)
    #: ``(collected_at, upload key)`` of the snapshot in ``table`` (snapshot logs).
    snapshot: tuple[int, str] | None = None

    def write(self, sink: BinaryIO) -> None:
        metadata = {"uploads": self.uploads, "snapshot": self.snapshot}
        table = self.table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata)})
        write_parquet(table, sink)


def load_current(store: Store, key: str, log_type: LogType) -> Current:
    with store.open(key) as opened:
        if opened is None:
            return Current(current_schema(log_type).empty_table(), None)
        # Column by column through a small buffer: the whole file is never in
        # memory beside the table.
        file, info = opened
        table = pq.read_table(file, pre_buffer=False, buffer_size=_READ_BUFFER)
    metadata = collator_metadata(table.schema)
    snapshot = metadata.get("snapshot")
    return Current(
        table.replace_schema_metadata(None).cast(current_schema(log_type)),
        info.etag,
        dict(metadata.get("uploads", {})),
        (int(snapshot[0]), str(snapshot[1])) if snapshot else None,
    )


def collator_metadata(schema: pa.Schema) -> dict[str, Any]:
    """What the collator keeps in a ``current`` file's footer."""
    return dict(json.loads((schema.metadata or {}).get(_METADATA_KEY, b"{}")))


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    write_parquet(table, sink)
    return sink.getvalue()


def write_parquet(table: pa.Table, sink: BinaryIO) -> None:
    names = table.column_names
    pq.write_table(
        table,
        sink,
        compression={name: "none" if name in _UNCOMPRESSED else "lz4" for name in names},
        use_dictionary=[name for name in names if name not in _NO_DICTIONARY],
        # Min/max of times and numbers help readers skip row groups; of
        # bodies and digests they cost time and help nobody.
        write_statistics=[f.name for f in table.schema if not pa.types.is_string(f.type)],
    )
