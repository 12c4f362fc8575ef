"""The ``current`` file of a device and log type: every record the device
ever sent (event logs) or its latest snapshot, in text order (see
``text.py``), as parquet. Its metadata records which upload versions it
contains and the digest of the diff each committed, which is what makes a
commit recognisable after a crash.

Diffs are written with the same parquet policy, so it lives here too.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from logsorter.collator.keys import version_id
from logsorter.collator.schema import LogType, current_schema
from logsorter.storage import Store

_METADATA_KEY = b"logsorter.collator"

#: Columns of nearly unique values, where a dictionary only costs time.
_NO_DICTIONARY = {"record_key", "content_hash", "extra", "body"}
#: Hex digests, which lz4 cannot shrink, and the long text column, where lz4
#: saves about 60% of its bytes but costs more time to compress and
#: decompress than writing and reading those bytes does.
_UNCOMPRESSED = {"record_key", "content_hash", "body"}
#: Bytes per read of ``current``: large enough that Python's file calls cost
#: nothing next to decoding.
_READ_BUFFER = 1 << 20


@dataclass(frozen=True)
class UploadVersion:
    """One version of an upload: its key and the bytes it held when read."""

    key: str
    #: ``content_digest`` of the bytes: what makes a re-sent key new or not.
    content: str
    #: The store's version of the object as read, so a sweep can tell an
    #: upload it has seen from a listing alone.
    etag: str
    uploaded_at: datetime

    @property
    def version_id(self) -> str:
        return version_id(self.key, self.content)


@dataclass(frozen=True)
class CommittedUpload:
    """An upload version ``current`` records, with the diff it committed."""

    upload: UploadVersion
    #: Digest of the diff's bytes, which names its staged copy.
    diff: str

    def to_json(self) -> dict[str, str]:
        upload = self.upload
        return {
            "key": upload.key,
            "content": upload.content,
            "etag": upload.etag,
            "uploaded_at": upload.uploaded_at.isoformat(),
            "diff": self.diff,
        }

    @classmethod
    def from_json(cls, item: dict[str, str]) -> CommittedUpload:
        uploaded_at = datetime.fromisoformat(item["uploaded_at"])
        upload = UploadVersion(item["key"], item["content"], item["etag"], uploaded_at)
        return cls(upload, item["diff"])


class CorruptCurrent(Exception):
    """A ``current`` file that cannot be read back."""


class OutdatedCurrent(CorruptCurrent):
    """A ``current`` without some of its schema's columns (an older schema
    of its log type): sound, but rebuilt from the uploads rather than read."""


@dataclass
class Current:
    table: pa.Table
    #: The stored version, None when there is no ``current`` yet.
    etag: str | None
    #: Every upload version merged into ``table``, in commit order.
    uploads: list[CommittedUpload] = field(default_factory=list)
    #: ``(collected_at, upload key)`` of the snapshot in ``table`` (snapshot logs).
    snapshot: tuple[int, str] | None = None

    def recorded(self, upload: UploadVersion) -> CommittedUpload | None:
        """The commit of this version, if ``current`` has it (same key, same bytes)."""
        return next(
            (
                c
                for c in self.uploads
                if c.upload.key == upload.key and c.upload.content == upload.content
            ),
            None,
        )

    def derived(self, table: pa.Table, snapshot: tuple[int, str] | None) -> Current:
        """A new state to commit over this one."""
        return Current(table, None, list(self.uploads), snapshot)

    def write(self, sink: BinaryIO) -> None:
        metadata = {
            "uploads": [committed.to_json() for committed in self.uploads],
            "snapshot": self.snapshot,
        }
        table = self.table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata)})
        write_parquet(table, sink)


def load_current(store: Store, key: str, log_type: LogType) -> Current:
    """The device's ``current``, empty when there is none yet. Raises
    ``CorruptCurrent`` when the file is there but cannot be read."""
    with store.open(key) as opened:
        if opened is None:
            return Current(current_schema(log_type).empty_table(), None)
        file, info = opened
        try:
            # Column by column through a small buffer: the whole file is never
            # in memory beside the table.
            table = pq.read_table(file, pre_buffer=False, buffer_size=_READ_BUFFER)
            uploads, snapshot = _decode_metadata(table.schema)
            expected = current_schema(log_type)
            if not set(expected.names) <= set(table.schema.names):
                raise OutdatedCurrent(f"{key} has the columns of another schema of {log_type.name}")
            # A column the schema no longer has (the ``text_line`` of each
            # record that collators kept before the core rendered the text)
            # is dropped here rather than costing the device a rebuild: the
            # next commit writes the file without it.
            table = table.select(expected.names).replace_schema_metadata(None).cast(expected)
        except (pa.ArrowException, ValueError, KeyError, TypeError) as err:
            raise CorruptCurrent(f"{key} cannot be read: {err}") from err
    return Current(table, info.etag, uploads, snapshot)


def peek_current(store: Store, key: str) -> tuple[str, list[CommittedUpload]] | None:
    """The version of the ``current`` at ``key`` and the uploads it records,
    from its footer alone (the rows are never read); None when there is no
    such file. Raises ``CorruptCurrent`` when the footer cannot be read."""
    with store.open(key) as opened:
        if opened is None:
            return None
        file, info = opened
        try:
            return info.etag, _decode_metadata(pq.read_schema(file))[0]
        except (pa.ArrowException, ValueError, KeyError, TypeError) as err:
            raise CorruptCurrent(f"{key} cannot be read: {err}") from err


def _decode_metadata(schema: pa.Schema) -> tuple[list[CommittedUpload], tuple[int, str] | None]:
    metadata: dict[str, Any] = json.loads((schema.metadata or {}).get(_METADATA_KEY, b"{}"))
    uploads = [CommittedUpload.from_json(item) for item in metadata.get("uploads", [])]
    snapshot = metadata.get("snapshot")
    return uploads, (int(snapshot[0]), str(snapshot[1])) if snapshot else None


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    write_parquet(table, sink)
    return sink.getvalue()


def _canonical_dictionaries(table: pa.Table) -> pa.Table:
    """Each dictionary column with one dictionary of the values it uses, in
    sorted order: how the rows came together (merged in memory by a rebuild,
    or read back between commits) then changes nothing in the bytes
    written. Only the small dictionaries are sorted; the rows are recoded
    with one hash lookup each."""
    table = table.unify_dictionaries()
    for index, column_type in enumerate(table.schema.types):
        if not pa.types.is_dictionary(column_type):
            continue
        column = table.column(index)
        if column.num_chunks == 0:
            continue
        dictionary = column.chunk(0).dictionary
        codes = pa.chunked_array(
            [chunk.indices for chunk in column.chunks], column_type.index_type
        ).combine_chunks()
        used = pc.unique(codes).drop_null()
        used = used.take(pc.sort_indices(dictionary.take(used)))
        recoded = pc.index_in(codes, value_set=used).cast(column_type.index_type)
        table = table.set_column(
            index,
            table.field(index),
            pa.DictionaryArray.from_arrays(recoded, dictionary.take(used)),
        )
    return table


def write_parquet(table: pa.Table, sink: BinaryIO) -> None:
    table = _canonical_dictionaries(table)
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
