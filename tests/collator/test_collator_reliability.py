"""What a bad day does to the collator, on both stores: a key sent again with
new bytes, a ``current`` that cannot be read, a text rewrite that keeps
being overtaken, and (local store) a frozen or dead lock holder and the
temporary files crashed writers leave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from collator_support import DEVICE, current, diffs, sms
from logsorter.collator import collate_upload
from logsorter.collator.current import load_current
from logsorter.collator.discovery import pending_uploads, repair_device_logs
from logsorter.collator.errors import CommitConflict
from logsorter.collator.keys import Device, current_key, text_key
from logsorter.collator.publish import Publication
from logsorter.collator.schema import log_type
from logsorter.storage import LocalStore, Store, StoreBusy
from support.stores import PassThroughStore
from support.uploads import lines_upload, upload

SMS = log_type("sms")
D1 = Device("u1", "d1")
CURRENT = current_key(SMS, D1)


def test_a_key_sent_again_with_more_records_adds_them_exactly_once(store: Store) -> None:
    key = DEVICE + "sms-3.ndjson.gz"
    store.put(key, upload([sms(i) for i in range(5)]))
    assert collate_upload(store, key).added == 5
    store.put(key, upload([sms(i) for i in range(25)]))
    assert pending_uploads(store) == [key]
    again = collate_upload(store, key)
    assert (again.status, again.added) == ("collated", 20)
    assert len(current(store)) == 25
    assert sorted(len(rows) for rows in diffs(store).values()) == [5, 20]
    # The same bytes once more change nothing.
    assert collate_upload(store, key).status == "already_collated"
    assert len(current(store)) == 25
    assert sorted(len(rows) for rows in diffs(store).values()) == [5, 20]


def test_a_fixed_reupload_of_a_rejected_key_is_collated_by_the_sweep(store: Store) -> None:
    key = DEVICE + "sms-9.ndjson"
    store.put(key, lines_upload(["{not a header"]))
    assert collate_upload(store, key).status == "rejected"
    assert pending_uploads(store) == []
    store.put(key, upload([sms(1)]))
    assert pending_uploads(store) == [key]
    assert collate_upload(store, key).added == 1


def corrupt(store: Store, key: str) -> None:
    blob = store.get(key)
    assert blob is not None
    store.put(key, blob.data[: len(blob.data) // 2])


def test_a_corrupt_current_is_quarantined_and_rebuilt_from_the_uploads(store: Store) -> None:
    for i in range(3):
        store.put(DEVICE + f"sms-{i}", upload([sms(2 * i), sms(2 * i + 1)]))
    for i in range(2):
        collate_upload(store, DEVICE + f"sms-{i}")
    corrupt(store, CURRENT)
    outcome = collate_upload(store, DEVICE + "sms-2")
    assert (outcome.status, outcome.added) == ("collated", 2)
    assert sorted(r["address"] for r in current(store)) == sorted(
        sms(i)["address"] for i in range(6)
    )
    quarantined = sorted(store.list_keys("collated_logs/quarantine/sms/user-u1/device-d1/"))
    assert [Path(k).suffix for k in quarantined] == [".json", ".parquet"]
    report_blob = store.get(quarantined[0])
    assert report_blob is not None
    report = json.loads(report_blob.data)
    assert (report["key"], report["status"]) == (CURRENT, "quarantined")
    assert "cannot be read" in report["reason"]
    # Each upload's diff is there once, and the text is that of the new current.
    assert sorted(len(rows) for rows in diffs(store).values()) == [2, 2, 2]
    rebuilt = load_current(store, CURRENT, SMS)
    assert rebuilt.etag is not None
    assert Publication(store, SMS, D1).is_complete(rebuilt.etag, rebuilt.uploads)
    assert len(rebuilt.uploads) == 3


def test_the_sweep_rebuilds_a_corrupt_current_without_a_new_upload(store: Store) -> None:
    store.put(DEVICE + "sms-0", upload([sms(0), sms(1)]))
    collate_upload(store, DEVICE + "sms-0")
    corrupt(store, CURRENT)
    assert [log.key for log in repair_device_logs(store)] == [CURRENT]
    assert len(current(store)) == 2
    assert pending_uploads(store) == []
    assert repair_device_logs(store) == []


def test_a_current_with_a_column_the_schema_dropped_is_read_without_a_rebuild(
    store: Store,
) -> None:
    """Collators before the core rendered the text kept a ``text_line`` per
    record in ``current``: such a file is read, not rebuilt from the uploads,
    and the next commit writes it without that column."""
    store.put(DEVICE + "sms-0", upload([sms(0), sms(1)]))
    collate_upload(store, DEVICE + "sms-0")
    stored = load_current(store, CURRENT, SMS)
    lines = pa.array(["earlier line\n"] * stored.table.num_rows, pa.string())
    older = stored.derived(stored.table.append_column("text_line", lines), None)
    store.put(CURRENT, older.write)
    # The upload that would be replayed by a rebuild is gone: only a read of
    # the stored file keeps its records.
    store.delete(DEVICE + "sms-0")
    store.put(DEVICE + "sms-1", upload([sms(2)]))
    assert collate_upload(store, DEVICE + "sms-1").added == 1
    assert sorted(r["address"] for r in current(store)) == [sms(i)["address"] for i in range(3)]
    rewritten = store.get(CURRENT)
    assert rewritten is not None
    assert "text_line" not in pq.read_schema(pa.BufferReader(rewritten.data)).names
    assert list(store.list_keys("collated_logs/quarantine/")) == []


class OvertakingStore(PassThroughStore):
    """Every text write is followed by a new version of ``current`` from a
    writer that never gets to publish it."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.overtaken = 0

    def after_write(self, key: str) -> None:
        if key == text_key(SMS, D1):
            self.overtaken += 1
            newer = load_current(self.inner, CURRENT, SMS)
            # Other metadata, so other bytes: a new version on S3 too.
            newer.snapshot = (self.overtaken, "overtaking")
            self.inner.put(CURRENT, newer.write)


def test_a_text_rewrite_that_keeps_being_overtaken_gives_up_as_transient(
    store: Store,
) -> None:
    store.put(DEVICE + "sms-0", upload([sms(0)]))
    collate_upload(store, DEVICE + "sms-0")
    store.put(DEVICE + "sms-1", upload([sms(1)]))
    with pytest.raises(CommitConflict, match="kept changing"):
        collate_upload(OvertakingStore(store), DEVICE + "sms-1")
    # Recorded, so a later pass finishes the text.
    assert repair_device_logs(store)
    committed = load_current(store, CURRENT, SMS)
    assert committed.etag is not None
    assert Publication(store, SMS, D1).is_complete(committed.etag, committed.uploads)


HOLD_LOCK = """
import fcntl, sys, time
lock = open(sys.argv[1], "ab")
fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


def hold_lock(path: Path) -> subprocess.Popen[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_frozen_lock_holder_makes_writers_give_up_in_bounded_time(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, lock_wait_seconds=0.5)
    holder = hold_lock(tmp_path / "k" / ".current.lock")
    try:
        os.kill(holder.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(StoreBusy, match=r"held its lock for more than 0\.5 s"):
            store.put_if("k/current", b"new", None)
        assert time.monotonic() - started < 5
        assert store.head("k/current") is None
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_dead_holder_is_taken_over(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, lock_wait_seconds=5)
    holder = hold_lock(tmp_path / "k" / ".current.lock")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert store.put_if("k/current", b"new", None) is not None


def test_temporaries_of_crashed_writers_are_removed_once_stale(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("k/file", b"one")
    stale, fresh = tmp_path / "k" / ".file.dead.tmp", tmp_path / "k" / ".file.live.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    store.put("k/file", b"two")
    assert not stale.exists()
    assert fresh.exists()
    assert list(store.list_keys("k/")) == ["k/file"]
