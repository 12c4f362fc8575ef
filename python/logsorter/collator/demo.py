"""``python -m logsorter.collator.demo DIR``: sample uploads for a few devices
into a local store, collate them, and show what came out and where."""

from __future__ import annotations

import argparse
import io
from collections import Counter

import pyarrow.parquet as pq

from logsorter.collator.core import collate_upload
from logsorter.collator.keys import OUTPUT_PREFIX
from logsorter.collator.sample import write_sample
from logsorter.storage import LocalStore


def run(root: str, users: int = 3, records: int = 200) -> int:
    store = LocalStore(root)
    keys = write_sample(store, users, records)
    # One upload twice, as an at-least-once event source would deliver it.
    outcomes = [collate_upload(store, key) for key in [*keys, keys[0]]]
    statuses = Counter(outcome.status for outcome in outcomes)
    print(f"collated {len(keys)} uploads from {users} users into {store.describe()}")
    print("  " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())))
    print(f"\ncurrent tables ({OUTPUT_PREFIX}current/):")
    for key in store.list_keys(f"{OUTPUT_PREFIX}current/"):
        blob = store.get(key)
        if blob is not None:
            print(f"  {key}: {pq.read_metadata(io.BytesIO(blob.data)).num_rows} rows")
    diffs = list(store.list_keys(f"{OUTPUT_PREFIX}diff/"))
    texts = list(store.list_keys(f"{OUTPUT_PREFIX}user-"))
    print(f"\n{len(diffs)} daily diffs under {store.path(OUTPUT_PREFIX + 'diff')}")
    print(f"{len(texts)} text files, e.g. {store.path(texts[0]) if texts else '-'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", help="a directory for the store (created if missing)")
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--records", type=int, default=200)
    args = parser.parse_args()
    return run(args.dir, args.users, args.records)


if __name__ == "__main__":
    raise SystemExit(main())
