"""The collator's invariants, on both stores."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from collator_support import DEVICE, current, diffs, outputs, sms
from logsorter.collator import collate_upload
from logsorter.collator.keys import OUTPUT_PREFIX, UPLOAD_PREFIX
from logsorter.storage import Store
from support.uploads import upload


def put_and_collate(store: Store, name: str, body: bytes) -> Any:
    store.put(DEVICE + name, body)
    return collate_upload(store, DEVICE + name)


def test_event_records_are_deduplicated_and_each_is_in_exactly_one_diff(store: Store) -> None:
    first = put_and_collate(store, "a.gz", upload([sms(1), sms(2), sms(2), sms(3)]))
    second = put_and_collate(store, "b.gz", upload([sms(3), sms(4)], gzipped=False))
    assert (first.added, second.added, second.records) == (3, 1, 2)
    rows = current(store)
    assert sorted(r["address"] for r in rows) == [sms(i)["address"] for i in (1, 2, 3, 4)]
    in_diffs = [row["record_key"] for rows in diffs(store).values() for row in rows]
    assert sorted(in_diffs) == sorted(r["record_key"] for r in rows)
    assert len(diffs(store)) == 2
    seen_again = next(r for r in rows if r["address"] == sms(3)["address"])
    assert seen_again["source_key"] == DEVICE + "a.gz"
    assert seen_again["last_seen_at"] >= seen_again["first_seen_at"]
    assert {r["user_id"] for r in rows} == {"u1"}
    assert {r["device_id"] for r in rows} == {"d1"}


def test_unknown_fields_are_kept_in_extra(store: Store) -> None:
    put_and_collate(store, "a.gz", upload([sms(1, sim_slot=2, meta={"b": 1, "a": [1]})]))
    assert current(store)[0]["extra"] == '{"meta":{"a":[1],"b":1},"sim_slot":2}'


def test_unknown_log_type_is_collated_as_an_event_log(store: Store) -> None:
    scans = [{"ssid": "home", "level": -40}, {"level": -40, "ssid": "home"}, {"ssid": "cafe"}]
    put_and_collate(store, "w.json", upload(scans, log_type="wifi_scan"))
    rows = current(store, "wifi_scan")
    assert sorted(r["extra"] for r in rows) == ['{"level":-40,"ssid":"home"}', '{"ssid":"cafe"}']


def contacts(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"lookup_key": key, "display_name": name, "numbers": ["+91"]} for key, name in pairs]


def test_snapshot_current_is_the_newest_snapshot_and_late_ones_change_nothing(
    store: Store,
) -> None:
    put_and_collate(store, "c1", upload(contacts(("k1", "Ann"), ("k2", "Bob")), "contacts", 100))
    put_and_collate(store, "c3", upload(contacts(("k1", "Ann B"), ("k3", "Cy")), "contacts", 300))
    before = current(store, "contacts")
    late = put_and_collate(store, "c2", upload(contacts(("k9", "Old")), "contacts", 200))
    assert late.added == 0
    assert current(store, "contacts") == before
    assert sorted((r["lookup_key"], r["display_name"]) for r in before) == [
        ("k1", "Ann B"),
        ("k3", "Cy"),
    ]
    changes = sorted(
        (row["lookup_key"], row["change"])
        for rows in diffs(store, "contacts").values()
        for row in rows
    )
    assert changes == [
        ("k1", "added"),
        ("k1", "changed"),
        ("k2", "added"),
        ("k2", "removed"),
        ("k3", "added"),
    ]
    k1 = next(r for r in before if r["lookup_key"] == "k1")
    assert k1["source_key"] == DEVICE + "c1"


def test_a_snapshot_whose_every_record_is_rejected_keeps_the_last_good_one(
    store: Store,
) -> None:
    put_and_collate(store, "c1", upload(contacts(("k1", "Ann")), "contacts", 100))
    before = current(store, "contacts")
    broken = [{"lookup_key": 7, "display_name": "Ann"}, {"lookup_key": ["k2"]}]
    outcome = put_and_collate(store, "c2", upload(broken, "contacts", 200))
    assert outcome.status == "rejected"
    assert current(store, "contacts") == before
    report = store.get(outcome.report_key)
    assert report is not None
    assert b"every record of this contacts snapshot was rejected" in report.data


def test_collating_again_in_any_order_changes_nothing(store: Store) -> None:
    names = ["a", "b", "c"]
    for i, name in enumerate(names):
        store.put(DEVICE + name, upload([sms(i), sms(i + 1), sms(9)]))
    for name in names:
        collate_upload(store, DEVICE + name)
    once = outputs(store)
    for name in [*reversed(names), *names]:
        assert collate_upload(store, DEVICE + name).status == "already_collated"
    assert outputs(store) == once


def test_text_is_one_escaped_line_per_record_ordered_by_time(store: Store) -> None:
    records = [sms(2, body="tab\there"), sms(1, body="line\nbreak \\ end")]
    put_and_collate(store, "a", upload(records))
    blob = store.get("collated_logs/user-u1/device-d1/sms.txt")
    assert blob is not None
    lines = blob.data.decode().splitlines()
    header = lines[0].split("\t")
    assert header[:5] == ["address", "date", "date_sent", "type", "body"]
    body = [line.split("\t")[header.index("body")] for line in lines[1:]]
    assert body == ["line\\nbreak \\\\ end", "tab\\there"]
    assert all(len(line.split("\t")) == len(header) for line in lines)


def test_nothing_is_written_outside_collated_logs(store: Store) -> None:
    put_and_collate(store, "a", upload([sms(1), {"address": 5}]))
    put_and_collate(store, "bad", b"\x1f\x8b garbage")
    collate_upload(store, "uploads/users/../../etc/unknown/d1/x")
    collate_upload(store, "uploads/users/u1/unknown/d1/sub/x")
    keys = list(store.list_keys(""))
    assert keys
    assert all(k.startswith((UPLOAD_PREFIX, OUTPUT_PREFIX)) for k in keys)
    assert not [k for k in keys if k.startswith(OUTPUT_PREFIX + "staging/")]


def test_eight_threads_collating_one_device_lose_nothing(store: Store) -> None:
    names = [f"part-{i}" for i in range(8)]
    for i, name in enumerate(names):
        store.put(DEVICE + name, upload([sms(100 * i + j) for j in range(40)] + [sms(9999)]))
    outcomes: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(names))

    def work(name: str) -> None:
        start.wait()
        try:
            outcomes.append(collate_upload(store, DEVICE + name))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(o.conflicts for o in outcomes) > 0, "the threads never actually raced"
    rows = current(store)
    assert len(rows) == 8 * 40 + 1
    all_diffs = diffs(store)
    assert len(all_diffs) == 8
    in_diffs = sorted(row["record_key"] for rows in all_diffs.values() for row in rows)
    assert in_diffs == sorted(r["record_key"] for r in rows)
    blob = store.get("collated_logs/user-u1/device-d1/sms.txt")
    assert blob is not None
    assert len(blob.data.splitlines()) == 1 + len(rows)


@pytest.mark.parametrize("log_type", ["sms", "contacts"])
def test_the_same_upload_collated_concurrently_gives_one_consistent_diff(
    store: Store, log_type: str
) -> None:
    records = [sms(i) for i in range(30)] if log_type == "sms" else contacts(("k1", "A"))
    store.put(DEVICE + "other", upload([sms(5)] if log_type == "sms" else contacts(), log_type, 1))
    store.put(DEVICE + "dup", upload(records, log_type, 2))
    threads = [
        threading.Thread(target=collate_upload, args=(store, DEVICE + name))
        for name in ["dup", "other", "dup", "dup"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = current(store, log_type)
    in_diffs = [row for rows in diffs(store, log_type).values() for row in rows]
    assert len(diffs(store, log_type)) == 2
    if log_type == "sms":
        assert sorted(r["record_key"] for r in in_diffs) == sorted(r["record_key"] for r in rows)
