"""The store contract, on both stores: compare-and-swap and key safety."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from logsorter.storage import LocalStore, Store, UnsafeKey


def test_put_if_is_compare_and_swap(store: Store) -> None:
    first = store.put_if("collated_logs/x", b"1", None)
    assert first is not None
    assert store.put_if("collated_logs/x", b"2", None) is None
    second = store.put_if("collated_logs/x", b"2", first)
    assert second is not None
    assert store.put_if("collated_logs/x", b"3", first) is None
    blob = store.get("collated_logs/x")
    assert blob is not None
    assert (blob.data, blob.info.etag) == (b"2", second)


def test_file_objects_are_written_whole(store: Store) -> None:
    store.put("collated_logs/big", io.BytesIO(b"x" * (40 << 20)))
    info = store.head("collated_logs/big")
    assert info is not None
    assert info.size == 40 << 20


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "", "a\\..\\b", "a\x00b"]
)
def test_unsafe_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(UnsafeKey):
        store.put(key, b"x")
    with pytest.raises(UnsafeKey):
        store.get(key)


def test_a_symlink_cannot_lead_a_key_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "collated_logs").mkdir(parents=True)
    (root / "collated_logs" / "out").symlink_to(tmp_path)
    with pytest.raises(UnsafeKey):
        LocalStore(root).put("collated_logs/out/escaped", b"x")
    assert not (tmp_path / "escaped").exists()
