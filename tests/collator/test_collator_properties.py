"""Any interleaving and duplication of uploads gives, as current, the set union
of their records, and the diffs partition it."""

from __future__ import annotations

import tempfile

from collator_support import DEVICE, current, diffs, sms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logsorter.collator import collate_upload
from logsorter.storage import LocalStore
from support.uploads import upload

uploads = st.lists(st.lists(st.integers(0, 30), max_size=12), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=uploads, data=st.data())
def test_any_order_and_repetition_gives_the_union(
    contents: list[list[int]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = LocalStore(root)
        keys = [f"{DEVICE}u{i}" for i in range(len(contents))]
        for key, records in zip(keys, contents, strict=True):
            store.put(key, upload([sms(i) for i in records]))
        order = data.draw(
            st.lists(st.sampled_from(keys), min_size=len(keys)).filter(
                lambda chosen: set(chosen) == set(keys)
            )
            | st.permutations(keys)
        )
        for key in order:
            collate_upload(store, key)
        expected = {sms(i)["address"] for records in contents for i in records}
        rows = current(store) if expected else []
        assert {r["address"] for r in rows} == expected
        assert len(rows) == len(expected)
        in_diffs = [row["record_key"] for found in diffs(store).values() for row in found]
        assert sorted(in_diffs) == sorted(r["record_key"] for r in rows)
        assert len(diffs(store)) == len(keys)
