"""One upload's bytes -> an Arrow table of its records. Decompression,
validation, identity hashing and in-upload dedupe run in the Rust core; the
records reach Arrow as one NDJSON buffer read with an explicit schema.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.json as pa_json

from logsorter._core import ParsedUpload, parse_upload
from logsorter.collator.keys import RejectedUpload
from logsorter.collator.schema import LogType, log_type, parsed_schema, parser_specs

#: Arrow's JSON reader needs every line to fit in one block.
_MIN_BLOCK = 1 << 20


@dataclass(frozen=True)
class UploadRecords:
    parsed: ParsedUpload
    log_type: LogType
    #: The accepted records, first occurrence of each identity, in line order.
    table: pa.Table


def read_records(data: bytes) -> UploadRecords:
    """Raises ``RejectedUpload`` when the upload as a whole is unreadable."""
    try:
        parsed = parse_upload(data, parser_specs())
    except ValueError as err:
        raise RejectedUpload(str(err)) from err
    kind = log_type(parsed.log_type)
    schema = parsed_schema(kind)
    if parsed.records == 0:
        return UploadRecords(parsed, kind, schema.empty_table())
    table = pa_json.read_json(
        io.BytesIO(parsed.ndjson),
        read_options=pa_json.ReadOptions(block_size=max(_MIN_BLOCK, parsed.longest_line + 1)),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="error"
        ),
    )
    return UploadRecords(parsed, kind, table)
