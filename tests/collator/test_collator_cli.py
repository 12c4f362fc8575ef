"""``logsorter sample`` and ``logsorter collate`` on a local directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from collator_support import DEVICE
from logsorter.cli import main
from logsorter.collator.keys import error_key
from logsorter.storage import LocalStore
from support.uploads import upload


def test_sample_then_collate_everything_then_nothing_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["sample", "phone-logs", "--out", str(tmp_path), "--users", "2", "--records", "30"])
        == 0
    )
    uploads = list(LocalStore(tmp_path).list_keys("uploads/users/"))
    assert len(uploads) > 10
    assert any(key.endswith(".gz") for key in uploads)
    assert main(["collate", "--store", str(tmp_path)]) == 0
    assert f"{len(uploads)} uploads" in capsys.readouterr().out
    current = list(LocalStore(tmp_path).list_keys("collated_logs/current/"))
    assert {key.split("/")[2] for key in current} == {
        "sms",
        "call_log",
        "location",
        "contacts",
        "installed_apps",
    }
    assert main(["collate", "--store", str(tmp_path)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_rejected_uploads_exit_1_with_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LocalStore(tmp_path)
    store.put(DEVICE + "good", upload([{"address": "a", "date": 1, "type": 1, "body": "b"}]))
    store.put(DEVICE + "cut", upload([{"address": "a"}] * 100)[:25])
    assert main(["collate", "--store", str(tmp_path), DEVICE + "good", DEVICE + "cut"]) == 1
    assert error_key(DEVICE + "cut") in capsys.readouterr().err
    assert main(["collate", "--store", str(tmp_path), "uploads/users/../../x/unknown/d/f"]) == 1
    assert not (tmp_path.parent / "x").exists()
    # Rejected uploads count as handled: a full run has nothing left to do.
    assert main(["collate", "--store", str(tmp_path)]) == 0


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collate", "--store", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["collate", "--store", "s3://"]) == 2
    assert main(["sample", "phone-logs", "--out", str(tmp_path), "--users", "0"]) == 2
