"""Store-wide questions, for the command line's sweep: which uploads still
need collating, and which devices a crash left half published or with an
unreadable ``current``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from logsorter.collator.current import CorruptCurrent, load_current, peek_current
from logsorter.collator.keys import CURRENT_PREFIX, UPLOAD_PREFIX, Device, parse_current_key
from logsorter.collator.publish import Publication
from logsorter.collator.rebuild import rebuild_corrupt_current
from logsorter.collator.reports import rejected_upload_versions
from logsorter.collator.schema import LogType, log_type
from logsorter.storage import Store


@dataclass(frozen=True)
class DeviceLog:
    """One ``current`` file: a device's log of one type."""

    key: str
    log_type: LogType
    device: Device


def device_logs(store: Store) -> Iterator[DeviceLog]:
    for key in store.list_keys(CURRENT_PREFIX):
        parsed = parse_current_key(key)
        if parsed is not None:
            yield DeviceLog(key, log_type(parsed[0]), parsed[1])


def collated_versions(store: Store) -> set[tuple[str, str | None]]:
    """``(upload key, version)`` of the uploads already collated (recorded in
    a ``current``) or rejected: a key whose object changed since is not done."""
    done = rejected_upload_versions(store)
    for log in device_logs(store):
        try:
            peeked = peek_current(store, log.key)
        except CorruptCurrent:
            continue  # repaired by ``repair_device_logs``; its uploads count as pending
        if peeked is not None:
            done.update((c.upload.key, c.upload.etag) for c in peeked[1])
    return done


def pending_uploads(store: Store) -> list[str]:
    """Uploads not yet collated in the version the store holds now."""
    done = collated_versions(store)
    return [key for key, info in store.list_objects(UPLOAD_PREFIX) if (key, info.etag) not in done]


def repair_device_logs(
    store: Store, max_bytes: int | None = None, *, dead_letter: bool = False
) -> list[DeviceLog]:
    """Finish every half-published commit (a staged diff that ``current``
    records, a text older than ``current``) and rebuild every unreadable
    ``current``; the device logs that needed it."""
    repaired = []
    for log in device_logs(store):
        publication = Publication(store, log.log_type, log.device)
        try:
            peeked = peek_current(store, log.key)
            if peeked is None or publication.is_complete(*peeked):
                continue
            current = load_current(store, log.key, log.log_type)
        except CorruptCurrent as err:
            current = rebuild_corrupt_current(
                store,
                log.log_type,
                log.device,
                err,
                max_bytes=max_bytes,
                dead_letter=dead_letter,
            )
        publication.complete(current)
        repaired.append(log)
    return repaired
