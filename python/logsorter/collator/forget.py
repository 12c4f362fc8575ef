"""Erasing what the collator holds for a user, or for one of their devices:
every log type's ``current``, diffs under every ``dt=``, texts, publication
markers, staged diffs, quarantined files, the error reports that name the
user's uploads, and (when asked) the raw uploads.

The tombstone (``tombstones.py``) is written first, then everything is
listed and deleted. A commit racing the erasure checks the tombstone before
its compare-and-swap on ``current`` and again once it has published: either
it finished every write before the tombstone existed, and the listing after
it finds them, or it sees the tombstone and stops, erasing what it wrote
(``erase_device_after_commit``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from logsorter.collator.errors import RejectedUpload
from logsorter.collator.keys import (
    ERROR_PREFIX,
    FORGOTTEN_PREFIX,
    OUTPUT_PREFIX,
    PER_LOG_TYPE_FOLDERS,
    UPLOAD_PREFIX,
    Device,
    UploadKey,
    tombstone_key,
)
from logsorter.collator.tombstones import (
    Tombstone,
    lift_tombstone,
    read_tombstone,
    write_tombstone,
)
from logsorter.storage import ObjectInfo, Store

#: What an erasure deletes, in the order it reports them.
CATEGORIES = (
    "current",
    "diff",
    "text",
    "published",
    "staging",
    "quarantine",
    "error reports",
    "uploads",
)


@dataclass(frozen=True)
class Scope:
    """Whose data: a user, or one device of theirs."""

    user_id: str
    device_id: str | None = None

    def owns_path(self, key: str) -> bool:
        """A collated key of this scope: ``.../user-U/...`` or, for a device,
        ``.../user-U/device-D/...`` and ``.../user-U/device-D.ext``."""
        user = f"/user-{self.user_id}/"
        if self.device_id is None:
            return user in key
        device = f"{user}device-{self.device_id}"
        return f"{device}/" in key or f"{device}." in key

    def owns_upload(self, upload_key: str) -> bool:
        try:
            upload = UploadKey.parse(upload_key)
        except RejectedUpload:
            return False
        return upload.user_id == self.user_id and (
            self.device_id is None or upload.device_id == self.device_id
        )

    def describe(self) -> str:
        user = f"user {self.user_id}"
        return f"{user}, device {self.device_id}" if self.device_id else user


@dataclass
class Erasure:
    scope: Scope
    dry_run: bool
    #: ``category -> [(key, bytes)]`` of what was (or would be) deleted.
    deleted: dict[str, list[tuple[str, int]]] = field(
        default_factory=lambda: {name: [] for name in CATEGORIES}
    )
    tombstone: str | None = None

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {"objects": len(items), "bytes": sum(size for _, size in items)}
            for name, items in self.deleted.items()
        }

    def to_json(self) -> dict[str, object]:
        return {
            "user_id": self.scope.user_id,
            "device_id": self.scope.device_id,
            "dry_run": self.dry_run,
            "tombstone": self.tombstone,
            "deleted": self.counts(),
        }


def forget(store: Store, scope: Scope, *, uploads: bool = False, dry_run: bool = False) -> Erasure:
    """Write the tombstone, then delete everything of ``scope`` (the raw
    uploads too with ``uploads``). A dry run lists and writes nothing."""
    erasure = Erasure(scope, dry_run)
    if not dry_run:
        erasure.tombstone = write_tombstone(store, scope.user_id, scope.device_id, uploads=uploads)
    for category, key, info in owned_objects(store, scope, uploads=uploads):
        if not dry_run:
            store.delete(key)
        erasure.deleted[category].append((key, info.size))
    return erasure


def erase_device_after_commit(store: Store, device: Device, tombstone: Tombstone) -> None:
    """A commit that lost the race to an erasure removes the device's data
    itself (and its uploads, when the erasure took them)."""
    scope = Scope(device.user_id, device.device_id)
    for _, key, _ in owned_objects(store, scope, uploads=tombstone.uploads):
        store.delete(key)


def owned_objects(
    store: Store, scope: Scope, *, uploads: bool
) -> Iterator[tuple[str, str, ObjectInfo]]:
    """``(category, key, info)`` of every object of ``scope``; ``current``
    first, so that an interrupted erasure leaves no ``current`` whose diffs
    are gone."""
    for folder in PER_LOG_TYPE_FOLDERS:
        for log_type_folder in store.list_folders(f"{OUTPUT_PREFIX}{folder}/"):
            # Diffs have a dt= level between the log type and the user.
            parents = store.list_folders(log_type_folder) if folder == "diff" else [log_type_folder]
            for parent in parents:
                yield from _owned_under(store, scope, folder, f"{parent}user-{scope.user_id}/")
    yield from _owned_under(store, scope, "text", f"{OUTPUT_PREFIX}user-{scope.user_id}/")
    yield from _reports_naming(store, scope)
    if uploads:
        for key, info in store.list_objects(f"{UPLOAD_PREFIX}{scope.user_id}/"):
            if scope.owns_upload(key):
                yield "uploads", key, info


def _owned_under(
    store: Store, scope: Scope, category: str, prefix: str
) -> Iterator[tuple[str, str, ObjectInfo]]:
    for key, info in store.list_objects(prefix):
        if scope.owns_path(key):
            yield category, key, info


def _reports_naming(store: Store, scope: Scope) -> Iterator[tuple[str, str, ObjectInfo]]:
    """Reports are keyed by a digest of the upload key, so each is read."""
    for key, info in store.list_objects(ERROR_PREFIX):
        blob = store.get(key)
        try:
            named = json.loads(blob.data).get("key") if blob else None
        except (ValueError, AttributeError):
            continue
        if isinstance(named, str) and scope.owns_upload(named):
            yield "error reports", key, info


def lift(store: Store, scope: Scope) -> list[str]:
    """Lift the tombstones of ``scope`` (for a user, the user's and every
    device's): uploads written from now on are collated again. The keys
    lifted; empty when none stood."""
    keys = [tombstone_key(scope.user_id, scope.device_id)]
    if scope.device_id is None:
        keys += store.list_keys(f"{FORGOTTEN_PREFIX}user-{scope.user_id}/")
    lifted = []
    for key in keys:
        tombstone = read_tombstone(store, key)
        if tombstone is not None and tombstone.lifted_at is None:
            lift_tombstone(store, tombstone)
            lifted.append(key)
    return lifted
