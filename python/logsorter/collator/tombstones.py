"""Tombstones: the record that a user (or one of their devices) was erased,
at ``collated_logs/forgotten/user-U.json`` or ``.../user-U/device-D.json``.

While a tombstone stands, nothing of its uploads is collated: an upload event
that arrives later (redelivered, or in flight during the erasure) is refused,
and a commit that finds it stops or erases what it wrote. Lifting it keeps
the file, marked lifted: uploads written before the lift stay refused (they
belong to the erased history), uploads written after it are collated. Times
are compared on the store's own clock: the lift's ``last_modified`` against
the upload's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from logsorter.collator.keys import Device, tombstone_key
from logsorter.storage import Store


@dataclass(frozen=True)
class Tombstone:
    key: str
    user_id: str
    device_id: str | None
    forgotten_at: str
    #: The raw uploads were erased too, and so is any that arrives later.
    uploads: bool
    #: When it was lifted, by the store's clock; None while it stands.
    lifted_at: datetime | None

    def refuses(self, uploaded_at: datetime | None) -> bool:
        """Whether an upload written at ``uploaded_at`` (None: not known, or
        gone) belongs to the erased history."""
        return self.lifted_at is None or uploaded_at is None or uploaded_at <= self.lifted_at


def read_tombstone(store: Store, key: str) -> Tombstone | None:
    blob = store.get(key)
    if blob is None:
        return None
    try:
        body = json.loads(blob.data)
        return Tombstone(
            key,
            str(body["user_id"]),
            body.get("device_id"),
            str(body["forgotten_at"]),
            bool(body.get("uploads", False)),
            blob.info.last_modified if body.get("lifted_at") else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        # Written by hand, or damaged: an erasure errs on the side of
        # refusing the user's data.
        return Tombstone(key, "?", None, "?", uploads=False, lifted_at=None)


def tombstones_of(store: Store, device: Device) -> list[Tombstone]:
    """The user's tombstone and the device's, those that exist."""
    keys = (tombstone_key(device.user_id), tombstone_key(device.user_id, device.device_id))
    return [t for t in (read_tombstone(store, key) for key in keys) if t is not None]


def refusing_tombstone(
    store: Store, device: Device, uploaded_at: datetime | None = None
) -> Tombstone | None:
    """The tombstone that refuses an upload of ``device`` written at
    ``uploaded_at``, if any (erasing uploads wins when both refuse)."""
    refusing = [t for t in tombstones_of(store, device) if t.refuses(uploaded_at)]
    return max(refusing, key=lambda t: t.uploads, default=None)


def write_tombstone(store: Store, user_id: str, device_id: str | None, *, uploads: bool) -> str:
    key = tombstone_key(user_id, device_id)
    body = {
        "user_id": user_id,
        "device_id": device_id,
        "forgotten_at": datetime.now(UTC).isoformat(),
        "uploads": uploads,
    }
    store.put(key, json.dumps(body).encode())
    return key


def lift_tombstone(store: Store, tombstone: Tombstone) -> None:
    """Mark it lifted: the write's time is the lift's."""
    body = {
        "user_id": tombstone.user_id,
        "device_id": tombstone.device_id,
        "forgotten_at": tombstone.forgotten_at,
        "uploads": tombstone.uploads,
        "lifted_at": datetime.now(UTC).isoformat(),
    }
    store.put(tombstone.key, json.dumps(body).encode())
