"""A collation killed with SIGKILL at each of its writes, in a process of its
own, then recovered by each way an upload comes back: a redelivery of the
same event, a sweep (``logsorter collate --store``), the dead-letter
collator, or the next upload of the same device. Whichever comes, nothing
is lost or duplicated and no half-published commit stays half published."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from collator_support import DEVICE, outputs, sms
from logsorter.collator import collate_upload
from logsorter.collator.current import load_current
from logsorter.collator.keys import Device, current_key, text_key
from logsorter.collator.publish import Publication
from logsorter.collator.schema import log_type as log_type_named
from logsorter.collator.text import render_text
from logsorter.storage import LocalStore, Store
from support.paths import ROOT
from support.uploads import upload

LOGSORTER = str(Path(sys.executable).with_name("logsorter"))
FIRST, SECOND, THIRD = (DEVICE + name for name in ("first", "second", "third"))


def records(log_type: str, i: int) -> list[dict[str, object]]:
    if log_type == "sms":
        return [sms(i), sms(i + 1), {"address": 1}]
    return [{"lookup_key": f"k{i + j}", "display_name": f"n{i}"} for j in range(2)]


def prepare(root: Path, log_type: str) -> LocalStore:
    """The first upload collated; the second and third waiting."""
    store = LocalStore(root)
    for i, key in enumerate((FIRST, SECOND, THIRD)):
        store.put(key, upload(records(log_type, i), log_type, i + 1))
    collate_upload(store, FIRST)
    return store


def kill_collation(root: Path, key: str, kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "support.killing_store", str(root), key, str(kill_at)],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli(*args: str) -> None:
    """``logsorter collate``; exit 1 only for the bad lines the uploads carry."""
    result = subprocess.run(
        [LOGSORTER, "collate", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode in (0, 1), result.stderr
    assert "failed" not in result.stderr, result.stderr


def redelivery(root: Path) -> None:
    store = LocalStore(root)
    collate_upload(store, SECOND)
    collate_upload(store, THIRD)


def sweep(root: Path) -> None:
    cli("--store", str(root))


def dead_letter(root: Path) -> None:
    cli("--store", str(root), "--dlq", SECOND, THIRD)


RECOVERIES: dict[str, Callable[[Path], None]] = {
    "redelivery": redelivery,
    "sweep": sweep,
    "dead-letter": dead_letter,
}


def shape(found: dict[str, object]) -> dict[str, object]:
    """Outputs without upload times: each store's uploads get their own."""
    volatile = {"first_seen_at", "last_seen_at"}
    return {
        key: [{k: v for k, v in row.items() if k not in volatile} for row in value]
        if isinstance(value, list)
        else value
        for key, value in found.items()
    }


def assert_fully_published(store: Store, log_type: str) -> None:
    kind, device = log_type_named(log_type), Device("u1", "d1")
    current = load_current(store, current_key(kind, device), kind)
    assert current.etag is not None
    assert Publication(store, kind, device).is_complete(current.etag, current.uploads)
    text = store.get(text_key(kind, device))
    assert text is not None
    sink = io.BytesIO()
    render_text(current.table, kind)(sink)
    assert text.data == sink.getvalue()


@pytest.mark.parametrize("log_type", ["sms", "contacts"])
def test_sigkill_at_every_write_then_every_recovery_path(tmp_path: Path, log_type: str) -> None:
    reference = prepare(tmp_path / "reference", log_type)
    counted = kill_collation(tmp_path / "reference", SECOND, 0)
    assert counted.returncode == 0, counted.stderr
    writes = int(counted.stdout)
    assert writes >= 5
    collate_upload(reference, THIRD)
    expected = shape(outputs(reference))

    for kill_at in range(1, writes + 1):
        for name, recover in RECOVERIES.items():
            root = tmp_path / f"{name}-{kill_at}"
            prepare(root, log_type)
            killed = kill_collation(root, SECOND, kill_at)
            assert killed.returncode == -9, f"write {kill_at}: {killed.stderr}"
            recover(root)
            assert shape(outputs(LocalStore(root))) == expected, f"{name} after write {kill_at}"

        # The next upload of the device completes whatever the killed commit
        # left staged or stale, before a redelivery brings the second upload.
        root = tmp_path / f"next-upload-{kill_at}"
        store = prepare(root, log_type)
        assert kill_collation(root, SECOND, kill_at).returncode == -9
        collate_upload(store, THIRD)
        assert_fully_published(store, log_type)
        collate_upload(store, SECOND)
        assert_fully_published(store, log_type)
