"""Sample records, and reading back everything the collator wrote."""

from __future__ import annotations

import io
import json
import urllib.request
from typing import Any

import pyarrow.parquet as pq
from lambda_runtime import LambdaRuntimeEmulator
from logsorter.storage import Store

BUCKET = "phone-logs"
DEVICE = "uploads/users/u1/unknown/d1/"


def sms(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "address": f"+9198{i:08d}",
        "date": 1_690_000_000_000 + i,
        "type": 1,
        "body": f"txn {i}",
        "read": 1,
        **extra,
    }


def table(store: Store, key: str) -> list[dict[str, Any]]:
    blob = store.get(key)
    assert blob is not None, f"{key} is missing"
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(blob.data)).to_pylist()
    return sorted(rows, key=lambda row: (row["record_key"], str(row.get("change"))))


def current(
    store: Store, log_type: str = "sms", user: str = "u1", device: str = "d1"
) -> list[dict[str, Any]]:
    return table(store, f"collated_logs/current/{log_type}/user-{user}/device-{device}.parquet")


def diffs(store: Store, log_type: str = "sms", device: str = "d1") -> dict[str, list[Any]]:
    return {
        key: table(store, key)
        for key in store.list_keys(f"collated_logs/diff/{log_type}/")
        if f"/device-{device}/" in key
    }


#: Bookkeeping that names store versions, which differ between two runs.
PUBLICATION_MARKERS = "collated_logs/published/"


def outputs(store: Store) -> dict[str, Any]:
    """Every collated object, parquet as sorted rows, so two runs compare
    equal; publication markers only by their keys."""
    found: dict[str, Any] = {}
    for key in store.list_keys("collated_logs/"):
        if key.startswith(PUBLICATION_MARKERS):
            found[key] = "marker"
        elif key.endswith(".parquet"):
            found[key] = table(store, key)
        else:
            blob = store.get(key)
            assert blob is not None
            found[key] = blob.data
    return found


def invoke(emulator: LambdaRuntimeEmulator, event: object) -> Any:
    """Invokes the function under `emulator` over HTTP, as a client would."""
    request = urllib.request.Request(
        emulator.invoke_url, data=json.dumps(event).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read())
