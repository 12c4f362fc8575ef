"""Store-wide questions, for the command line: which uploads are done."""

from __future__ import annotations

import pyarrow.parquet as pq

from logsorter.collator.current import collator_metadata
from logsorter.collator.keys import CURRENT_PREFIX
from logsorter.collator.reports import rejected_upload_keys
from logsorter.storage import Store


def collated_uploads(store: Store) -> set[str]:
    """Upload keys already collated (recorded in a ``current``) or rejected."""
    done = rejected_upload_keys(store)
    for key in store.list_keys(CURRENT_PREFIX):
        if not key.endswith(".parquet"):
            continue
        with store.open(key) as opened:
            # The footer holds the metadata: the rows are never read.
            schema = pq.read_schema(opened[0]) if opened else None
        if schema is not None:
            done.update(collator_metadata(schema).get("uploads", {}))
    return done
