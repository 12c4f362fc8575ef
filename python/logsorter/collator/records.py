"""One upload's bytes -> an Arrow table of its records. Decompression,
validation, identity hashing, in-upload dedupe and the Arrow columns
themselves are built in the Rust core; pyarrow reads its buffers in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from logsorter._core import CorruptInputError, ParsedUpload
from logsorter.collator.keys import RejectedUpload
from logsorter.collator.schema import LogType, log_type, upload_parser


@dataclass(frozen=True)
class UploadRecords:
    parsed: ParsedUpload
    log_type: LogType
    #: The accepted records, first occurrence of each identity, in line order.
    table: pa.Table


def read_records(data: bytes) -> UploadRecords:
    """Raises ``RejectedUpload`` when the upload as a whole is unreadable."""
    try:
        parsed = upload_parser().parse(data)
    except CorruptInputError as err:
        raise RejectedUpload(str(err)) from err
    return UploadRecords(parsed, log_type(parsed.log_type), parsed.table)
