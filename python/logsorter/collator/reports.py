"""Error reports: one JSON object per upload key under ``collated_logs/errors/``,
for uploads rejected as a whole and for uploads collated with skipped lines.
Reports hold no timestamp, so processing an upload again rewrites the same report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from logsorter.collator.keys import ERROR_PREFIX, error_key
from logsorter.storage import Store

_REJECTED = "rejected"

#: Lines listed one by one in a report; the count covers the rest.
MAX_LISTED_LINES = 1000


def report_rejected(
    store: Store, upload_key: str, reason: str, etag: str | None, status: str = _REJECTED
) -> str:
    """Nothing of the upload was collated. ``etag``, the version that was
    read (None when none was), lets a sweep retry the key once it changes;
    a ``status`` other than ``rejected`` (a schema version not known yet)
    lets it retry the same version."""
    return _write(store, upload_key, status, reason, (), etag)


def report_skipped_lines(
    store: Store, upload_key: str, rejected_lines: Sequence[tuple[int, str]]
) -> str:
    """The upload was collated except for these lines."""
    reason = f"{len(rejected_lines)} line(s) skipped, the rest collated"
    return _write(store, upload_key, "skipped_lines", reason, rejected_lines, None)


def _write(  # noqa: PLR0917 (one private writer behind the two report kinds)
    store: Store,
    upload_key: str,
    status: str,
    reason: str,
    rejected_lines: Sequence[tuple[int, str]],
    etag: str | None,
) -> str:
    report = {
        "key": upload_key,
        "etag": etag,
        "status": status,
        "reason": reason,
        "rejected_line_count": len(rejected_lines),
        "rejected_lines": [
            {"line": line, "reason": why} for line, why in rejected_lines[:MAX_LISTED_LINES]
        ],
    }
    key = error_key(upload_key)
    store.put(key, json.dumps(report, ensure_ascii=False, indent=1).encode())
    return key


def rejected_upload_versions(store: Store) -> set[tuple[str, str | None]]:
    """``(upload key, version)`` of each upload whose report says it was
    rejected as a whole."""
    rejected = set()
    for key in store.list_keys(ERROR_PREFIX):
        blob = store.get(key)
        report = json.loads(blob.data) if blob else {}
        if report.get("status") == _REJECTED:
            rejected.add((report["key"], report.get("etag")))
    return rejected
