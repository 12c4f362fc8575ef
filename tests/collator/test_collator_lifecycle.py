"""The collated data's lifecycle, on both stores: erasure (``logsorter
forget``) racing collations, dry runs and lifts; rebuilding from the uploads
after a schema change, byte for byte what a fresh collation gives, while
uploads keep arriving; schema versions refused until a collator knows them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from collator_support import DEVICE, PUBLICATION_MARKERS, current, sms
from logsorter.cli import main
from logsorter.collator import collate_upload
from logsorter.collator import schema as schema_module
from logsorter.collator.discovery import pending_uploads
from logsorter.collator.forget import Scope, forget, lift
from logsorter.collator.keys import Device, error_key
from logsorter.collator.rebuild import device_uploads, rebuild_device
from logsorter.collator.sample import encode_upload
from logsorter.collator.schema import LogType, OlderVersion
from logsorter.storage import S3Store, Store
from support.stores import PassThroughStore
from support.uploads import maybe_gzipped, upload

D1 = Device("u1", "d1")
OTHER_USER = "uploads/users/u2/unknown/d2/"


def user_keys(store: Store, user: str = "u1") -> list[str]:
    """Every collated key that names the user, the tombstones aside."""
    return [
        key
        for key in store.list_keys("collated_logs/")
        if f"user-{user}" in key and not key.startswith("collated_logs/forgotten/")
    ]


def later_store_time(store: Store) -> None:
    """Past the store's clock resolution (S3 times are whole seconds)."""
    time.sleep(1.1 if isinstance(store, S3Store) else 0.02)


def test_forget_racing_eight_collations_leaves_nothing_and_nothing_comes_back(
    store: Store,
) -> None:
    keys = [DEVICE + f"sms-{i}.ndjson.gz" for i in range(8)]
    for i, key in enumerate(keys):
        store.put(key, upload([sms(10 * i + j) for j in range(5)]))
    store.put(OTHER_USER + "sms-0", upload([sms(1)]))
    collate_upload(store, OTHER_USER + "sms-0")
    collate_upload(store, keys[0])
    # One upload rejected whole and one with a bad line: both have reports
    # that name the user.
    store.put(DEVICE + "broken", b"\x1f\x8b\x08 not gzip")
    collate_upload(store, DEVICE + "broken")
    store.put(DEVICE + "skipped", upload([sms(99), {"address": 1}]))
    collate_upload(store, DEVICE + "skipped")
    assert store.get(error_key(DEVICE + "broken")) is not None

    start = threading.Barrier(len(keys))
    errors: list[BaseException] = []

    def collate(key: str) -> None:
        start.wait()
        try:
            collate_upload(store, key)
        except BaseException as err:  # reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=collate, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    erasure = forget(store, Scope("u1"))
    for thread in threads:
        thread.join()
    assert not errors
    assert erasure.tombstone == "collated_logs/forgotten/user-u1.json"
    assert user_keys(store) == []
    assert store.get(error_key(DEVICE + "broken")) is None

    # Redelivered events, and the sweep, bring nothing back.
    for key in [*keys, DEVICE + "skipped"]:
        assert collate_upload(store, key).status == "forgotten"
    assert main(["collate", "--store", store.describe()]) in (0, 1)  # the broken upload
    assert user_keys(store) == []
    # The raw uploads stay (no --uploads); the other user is untouched.
    assert len(device_uploads(store, D1)) == 10
    assert [row["address"] for row in current(store, user="u2", device="d2")] == [sms(1)["address"]]


def test_a_dry_run_lists_what_forget_deletes_and_changes_nothing(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(2):
        store.put(DEVICE + f"sms-{i}", upload([sms(i)]))
        collate_upload(store, DEVICE + f"sms-{i}")
    before = {key: info.etag for key, info in store.list_objects("")}
    dry = forget(store, Scope("u1", "d1"), uploads=True, dry_run=True)
    assert {key: info.etag for key, info in store.list_objects("")} == before
    assert dry.tombstone is None
    listed = {key for items in dry.deleted.values() for key, _ in items}

    assert (
        main(["forget", "--store", store.describe(), "--user", "u1", "--device", "d1", "--uploads"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "deleted 1 current (" in printed
    assert "deleted 2 diff (" in printed
    assert "deleted 2 uploads (" in printed
    assert f"deleted {len(listed)} objects, " in printed
    assert sorted(set(before) - {k for k, _ in store.list_objects("")}) == sorted(listed)
    assert dry.counts()["uploads"]["objects"] == 2


def test_late_uploads_are_deleted_and_only_those_written_after_a_lift_are_collated(
    store: Store,
) -> None:
    store.put(DEVICE + "sms-0", upload([sms(0)]))
    collate_upload(store, DEVICE + "sms-0")
    forget(store, Scope("u1"), uploads=True)
    assert list(store.list_keys("uploads/users/u1/")) == []
    # Still in flight when the erasure ran: refused and deleted.
    store.put(DEVICE + "sms-late", upload([sms(1)]))
    assert collate_upload(store, DEVICE + "sms-late").status == "forgotten"
    assert store.head(DEVICE + "sms-late") is None
    store.put(DEVICE + "sms-before-lift", upload([sms(2)]))
    later_store_time(store)
    assert lift(store, Scope("u1")) == ["collated_logs/forgotten/user-u1.json"]
    later_store_time(store)
    store.put(DEVICE + "sms-after-lift", upload([sms(3)]))
    assert collate_upload(store, DEVICE + "sms-before-lift").status == "forgotten"
    assert collate_upload(store, DEVICE + "sms-after-lift").status == "collated"
    assert [row["address"] for row in current(store)] == [sms(3)["address"]]


#: sms as a later collator knows it: version 2, where ``type`` is a string,
#: ``body`` is called ``text`` and ``sim_slot`` is new.
SMS_V1 = schema_module.LOG_TYPES["sms"]
SMS_V2 = LogType(
    "sms",
    SMS_V1.kind,
    (
        *(
            ("text", kind) if name == "body" else (name, "str" if name == "type" else kind)
            for name, kind in SMS_V1.fields
        ),
        ("sim_slot", "int"),
    ),
    ("address", "type", "date", "text"),
    "date",
    schema_version=2,
    older=(OlderVersion(1, SMS_V1.fields, renamed=(("body", "text"),)),),
)


@pytest.fixture
def sms_version_2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The collator deployed with ``SMS_V2``."""
    monkeypatch.setitem(schema_module.LOG_TYPES, "sms", SMS_V2)
    for cached in (schema_module.upload_parser, schema_module.current_schema):
        cached.cache_clear()
    yield
    monkeypatch.undo()
    for cached in (schema_module.upload_parser, schema_module.current_schema):
        cached.cache_clear()


def versioned(records: list[dict[str, object]], version: int, app: str) -> bytes:
    text = encode_upload("sms", records, 1_700_000_000_000)
    header = f'{{"log_type": "sms", "schema_version": {version}, "app_version": "{app}"}}\n'
    return maybe_gzipped((header + text.split("\n", 1)[1]).encode(), True)


def test_an_unknown_newer_version_is_refused_whole_until_a_collator_knows_it(
    store: Store, request: pytest.FixtureRequest
) -> None:
    key = DEVICE + "sms-v2.ndjson.gz"
    store.put(key, versioned([{**sms(1), "type": "1", "text": "x"}], 2, "5.0"))
    outcome = collate_upload(store, key)
    assert outcome.status == "rejected"
    report = store.get(error_key(key))
    assert report is not None
    assert b"schema_version 2 of sms is newer than this collator knows (1)" in report.data
    assert user_keys(store) == []
    assert pending_uploads(store) == [key]  # not done: a sweep tries again

    request.getfixturevalue("sms_version_2")
    assert collate_upload(store, key).status == "collated"
    [row] = current(store)
    assert (row["type"], row["text"], row["app_version"]) == ("1", "x", "5.0")


def test_rebuild_after_a_schema_change_is_a_fresh_collation_byte_for_byte(
    store: Store, request: pytest.FixtureRequest
) -> None:
    for i in range(3):
        store.put(DEVICE + f"sms-{i}", versioned([sms(i), sms(i + 1)], 1, f"4.{i}"))
        collate_upload(store, DEVICE + f"sms-{i}")
    store.put(DEVICE + "contacts", upload([{"lookup_key": "k", "display_name": "n"}], "contacts"))
    collate_upload(store, DEVICE + "contacts")

    request.getfixturevalue("sms_version_2")
    # A version-2 upload resending a version-1 record: the same record.
    store.put(DEVICE + "sms-3", versioned([{**sms(3), "type": "1", "text": "txn 3"}], 2, "5.0"))
    rebuilt = rebuild_device(store, D1)
    assert {(r.log_type, r.uploads, r.records) for r in rebuilt} == {
        ("sms", 4, 4),
        ("contacts", 1, 1),
    }
    rows = current(store)
    assert {row["type"] for row in rows} == {"1"}
    assert sorted(row["app_version"] for row in rows) == ["4.0", "4.0", "4.1", "4.2"]
    text = store.get("collated_logs/user-u1/device-d1/sms.txt")
    assert text is not None
    assert text.data.startswith(b"address\tdate\tdate_sent\ttype\ttext\t")
    rebuilt_outputs = stored_bytes(store)

    for key in list(store.list_keys("collated_logs/")):
        store.delete(key)
    for upload_key in device_uploads(store, D1):
        collate_upload(store, upload_key.key)
    fresh = stored_bytes(store)
    assert sorted(fresh) == sorted(rebuilt_outputs)
    for key, data in fresh.items():
        assert rebuilt_outputs[key] == data, key


def stored_bytes(store: Store) -> dict[str, bytes]:
    """Every collated object's bytes, but the publication markers, which
    name store versions."""
    found = {}
    for key in store.list_keys("collated_logs/"):
        if not key.startswith(PUBLICATION_MARKERS):
            blob = store.get(key)
            assert blob is not None
            found[key] = blob.data
    return found


class UploadDuringRebuild(PassThroughStore):
    """A new upload of the device arrives, and is collated, just as the
    rebuild stages its first diff."""

    def __init__(self, inner: Store, key: str) -> None:
        super().__init__(inner)
        self.key = key
        self.arrived = False

    def after_write(self, key: str) -> None:
        if key.startswith("collated_logs/staging/") and not self.arrived:
            self.arrived = True
            self.inner.put(self.key, upload([sms(2), sms(50)]))
            collate_upload(self.inner, self.key)


def test_an_upload_arriving_during_a_rebuild_is_in_the_result_exactly_once(store: Store) -> None:
    for i in range(2):
        store.put(DEVICE + f"sms-{i}", upload([sms(i), sms(i + 1)]))
        collate_upload(store, DEVICE + f"sms-{i}")
    racing = UploadDuringRebuild(store, DEVICE + "sms-new")
    [rebuilt] = rebuild_device(racing, D1)
    assert racing.arrived
    assert rebuilt.conflicts >= 1
    rows = current(store)
    assert sorted(row["address"] for row in rows) == sorted(
        sms(i)["address"] for i in (0, 1, 2, 50)
    )
    assert collate_upload(store, DEVICE + "sms-new").status == "already_collated"
