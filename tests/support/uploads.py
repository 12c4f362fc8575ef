"""Phone-log uploads as phones send them: NDJSON, a header line
(``log_type``, ``schema_version``, ``collected_at``) then one record a line,
gzip-compressed or plain."""

from __future__ import annotations

import gzip
from typing import Any

from logsorter.collator.sample import encode_upload

COLLECTED_AT = 1_700_000_000_000


def upload(
    records: list[Any],
    log_type: str = "sms",
    collected_at: int = COLLECTED_AT,
    gzipped: bool = True,
) -> bytes:
    return maybe_gzipped(encode_upload(log_type, records, collected_at).encode(), gzipped)


def lines_upload(lines: list[str], gzipped: bool = False) -> bytes:
    """An upload of these lines as they are, header or not, for uploads a
    phone should not send."""
    return maybe_gzipped("\n".join(lines).encode(), gzipped)


def maybe_gzipped(data: bytes, gzipped: bool) -> bytes:
    # mtime=0: the same records give the same bytes, as a re-sent file does.
    return gzip.compress(data, mtime=0) if gzipped else data
