"""Crashes between writes, and bad inputs: a retry heals every crash, and every
bad input is reported without losing what was good."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from collator_support import DEVICE, current, diffs, outputs, sms
from logsorter.collator import collate_upload
from logsorter.collator.keys import error_key
from logsorter.storage import LocalStore, S3Store, Store
from support.stores import PassThroughStore
from support.uploads import lines_upload, upload


class Crash(Exception):
    """The process dies here."""


class CrashingStore(PassThroughStore):
    """Crashes on the N-th write."""

    def __init__(self, inner: Store, crash_at: int) -> None:
        super().__init__(inner)
        self.crash_at = crash_at

    def before_write(self, key: str) -> None:
        if self.writes == self.crash_at:
            raise Crash(f"crash before write {self.writes}")


def fresh_like(store: Store, tmp_path: Path, name: str) -> Store:
    if isinstance(store, S3Store):
        store.client.create_bucket(Bucket=name)
        return S3Store(store.client, name)
    return LocalStore(tmp_path / name)


@pytest.mark.parametrize("log_type", ["sms", "contacts"])
def test_a_crash_at_any_write_heals_on_retry(store: Store, tmp_path: Path, log_type: str) -> None:
    def records(i: int) -> list[dict[str, object]]:
        if log_type == "sms":
            return [sms(i), sms(i + 1), {"address": 1}]
        return [{"lookup_key": f"k{i + j}", "display_name": f"n{i}"} for j in range(2)]

    def prepare(target: Store) -> None:
        target.put(DEVICE + "first", upload(records(0), log_type, 1))
        target.put(DEVICE + "second", upload(records(1), log_type, 2))
        collate_upload(target, DEVICE + "first")

    # The reference: each upload collated once, without crashes. Upload times
    # differ between stores, so the reference is built in a twin store.
    counting = CrashingStore(store, crash_at=0)
    prepare(store)
    collate_upload(counting, DEVICE + "second")
    expected = outputs(store)
    writes = counting.writes
    assert writes >= 5

    for crash_at in range(1, writes + 1):
        target = fresh_like(store, tmp_path, f"crash-{log_type.replace('_', '-')}-{crash_at}")
        prepare(target)
        with pytest.raises(Crash):
            collate_upload(CrashingStore(target, crash_at), DEVICE + "second")
        collate_upload(target, DEVICE + "second")
        assert _shape(outputs(target)) == _shape(expected), f"crash at write {crash_at}"


def _shape(found: dict[str, object]) -> dict[str, object]:
    """Outputs without upload times: each store's uploads get their own."""
    volatile = {"first_seen_at", "last_seen_at"}
    shaped: dict[str, object] = {}
    for key, value in found.items():
        if isinstance(value, list):
            shaped[key] = [{k: v for k, v in row.items() if k not in volatile} for row in value]
        else:
            shaped[key] = value
    return shaped


def report(store: Store, key: str) -> dict[str, object]:
    blob = store.get(error_key(key))
    assert blob is not None, f"no report for {key}"
    found: dict[str, object] = json.loads(blob.data)
    return found


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("empty", b"", "empty"),
        ("blank", b"\r\n\n  \n", "empty"),
        ("truncated", upload([sms(i) for i in range(500)])[:200], "truncated"),
        ("garbage", bytes(range(256)) * 40, "not valid JSON"),
        ("no-header", lines_upload([json.dumps(sms(1))]), "no log_type"),
        ("list-header", b"[1]\n" + json.dumps(sms(1)).encode(), "not a JSON object"),
        ("bad-type", b'{"log_type": "../../x"}\n', "log_type"),
    ],
)
def test_unreadable_uploads_are_rejected_with_a_report_and_nothing_else(
    store: Store, name: str, body: bytes, reason: str
) -> None:
    store.put(DEVICE + name, body)
    outcome = collate_upload(store, DEVICE + name)
    assert outcome.status == "rejected"
    assert reason in str(report(store, DEVICE + name)["reason"])
    assert list(store.list_keys("collated_logs/")) == [error_key(DEVICE + name)]


@pytest.mark.parametrize(
    "key",
    [
        "uploads/users/../../etc/unknown/d1/x",
        "uploads/users/u1/unknown/d1",
        "uploads/users/u1/unknown/d1/extra/x",
        "uploads/users//unknown/d1/x",
        "uploads/users/u1/unknown/d 1/x",
        "uploads/users/u1/unknown/d1/..",
        "uploads/users/" + "u" * 129 + "/unknown/d1/x",
        "collated_logs/current/sms/user-u1/device-d1.parquet",
        "/etc/passwd",
    ],
)
def test_hostile_keys_are_rejected_without_reading_or_writing_elsewhere(
    store: Store, key: str
) -> None:
    outcome = collate_upload(store, key)
    assert outcome.status == "rejected"
    assert list(store.list_keys("")) == [error_key(key)]


def test_bad_lines_are_skipped_alone_and_reported_with_line_numbers(store: Store) -> None:
    lines = [
        "\ufeff" + json.dumps({"log_type": "sms"}),
        json.dumps(sms(1)),
        "",
        "[1, 2]",
        json.dumps(sms(2, date="yesterday")),
        "{not json",
        json.dumps(sms(3)),
    ]
    store.put(DEVICE + "mixed", "\r\n".join(lines).encode())
    outcome = collate_upload(store, DEVICE + "mixed")
    assert (outcome.status, outcome.added, outcome.skipped_lines) == ("collated", 2, 3)
    found = report(store, DEVICE + "mixed")
    assert found["status"] == "skipped_lines"
    assert [item["line"] for item in found["rejected_lines"]] == [4, 5, 6]  # type: ignore[attr-defined]
    assert "date" in found["rejected_lines"][1]["reason"]  # type: ignore[index]
    assert len(current(store)) == 2


@pytest.mark.slow
def test_a_fifty_megabyte_line_is_collated_whole(store: Store) -> None:
    body = "x" * (50 * 1024 * 1024)
    store.put(DEVICE + "big", upload([sms(1, body=body), sms(2)]))
    outcome = collate_upload(store, DEVICE + "big")
    assert (outcome.status, outcome.added) == ("collated", 2)
    assert sorted(len(r["body"]) for r in current(store)) == [len("txn 2"), len(body)]
    assert sum(len(rows) for rows in diffs(store).values()) == 2
