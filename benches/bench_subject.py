"""One merge of the collator benchmark's upload, by the collator or by the
Polars baseline, for a fresh process that measures its own peak memory."""

from __future__ import annotations

from pathlib import Path

from logsorter.collator import collate_upload
from logsorter.storage import LocalStore
from polars_collate import polars_collate
from test_collator_bench import UPLOAD_KEY, polars_arguments


def run(subject: str, root: str) -> int:
    if subject == "polars":
        return polars_collate(*polars_arguments(Path(root)))
    return collate_upload(LocalStore(root), UPLOAD_KEY).added
