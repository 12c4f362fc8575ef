"""Reading one upload: its bytes from the store, then its records as an Arrow
table. Decompression, validation, identity hashing, in-upload dedupe and the
Arrow columns themselves are built in the Rust core; pyarrow reads its
buffers in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from logsorter._core import CorruptInputError, InputTooLargeError, ParsedUpload
from logsorter.collator.current import UploadVersion
from logsorter.collator.errors import RejectedUpload, UnsupportedSchema, UploadTooLarge
from logsorter.collator.keys import UploadKey, content_digest
from logsorter.collator.merge import with_provenance
from logsorter.collator.schema import Kind, LogType, log_type, upload_parser
from logsorter.storage import Store

#: The version of an upload whose header names none (the parser's too).
FIRST_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Upload:
    key: UploadKey
    version: UploadVersion
    parsed: ParsedUpload
    log_type: LogType
    #: The accepted records in the ``current`` schema, stamped with the
    #: upload: first occurrence of each identity, in line order.
    records: pa.Table
    #: Bytes as stored (compressed, if it was).
    size: int

    @property
    def snapshot(self) -> tuple[int, str]:
        """When the device took this snapshot (else when it was uploaded), and
        the key: what orders snapshots."""
        collected_at = self.parsed.collected_at
        if collected_at is None:
            collected_at = int(self.version.uploaded_at.timestamp() * 1000)
        return collected_at, self.key.key


def read_upload(
    store: Store, key: UploadKey, max_bytes: int | None = None, *, dead_letter: bool = False
) -> Upload:
    """Raises ``RejectedUpload`` when the upload as a whole is unreadable (or
    gone). Above ``max_bytes``, as stored or decompressed, it is
    ``UploadTooLarge`` for the dead-letter collator to take, or, in the
    dead-letter collator itself, a ``RejectedUpload``."""

    def too_large(reason: str, etag: str | None) -> Exception:
        if dead_letter:
            return RejectedUpload(f"{reason} (the dead-letter collator's ceiling)", etag=etag)
        return UploadTooLarge(f"{key.key}: {reason}")

    if max_bytes is not None:
        # Checked before the download, which is what the limit protects.
        info = store.head(key.key)
        if info is not None and info.size > max_bytes:
            raise too_large(f"{info.size} bytes is above the limit of {max_bytes}", info.etag)
    blob = store.get(key.key)
    if blob is None:
        raise RejectedUpload("the upload does not exist")
    try:
        parsed = upload_parser().parse(blob.data, max_bytes)
    except CorruptInputError as err:
        raise RejectedUpload(str(err), etag=blob.info.etag) from err
    except (InputTooLargeError, MemoryError) as err:
        reason = str(err) or "decompressing it ran out of memory"
        raise too_large(reason, blob.info.etag) from err
    kind = log_type(parsed.log_type)
    unreadable = kind.check_version(parsed.schema_version or FIRST_SCHEMA_VERSION)
    if unreadable is not None:
        raise UnsupportedSchema(unreadable, etag=blob.info.etag)
    _check_snapshot_kept_something(parsed, kind, blob.info.etag)
    uploaded_at = blob.info.last_modified
    version = UploadVersion(key.key, content_digest(blob.data), blob.info.etag, uploaded_at)
    records = with_provenance(parsed.table, kind, key, uploaded_at, parsed.app_version)
    return Upload(key, version, parsed, kind, records, blob.info.size)


def _check_snapshot_kept_something(parsed: ParsedUpload, kind: LogType, etag: str) -> None:
    """A snapshot replaces ``current`` whole, so one whose every record was
    rejected would wipe the device's state for a formatting problem: it is
    rejected as an upload instead, and ``current`` keeps the last good one."""
    if parsed.records == 0 and parsed.rejected and kind.kind is Kind.SNAPSHOT:
        first = ", ".join(f"line {line}: {reason}" for line, reason in parsed.rejected[:3])
        raise RejectedUpload(
            f"every record of this {kind.name} snapshot was rejected "
            f"({len(parsed.rejected)} lines; {first})",
            etag=etag,
        )
