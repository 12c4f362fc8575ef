"""Uploads that expand to gigabytes, collated by the command line in a
process whose address space is capped with ``prlimit --as`` as a Lambda's
memory is. The primary collator refuses them at ``LOGSORTER_MAX_UPLOAD_MB``
(decompressed) and leaves them to the dead-letter collator; the dead-letter
collator refuses them at a quarter of its memory with a report. Neither
aborts, and the uploads after a bomb are collated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from collator_support import DEVICE, current, sms
from logsorter.collator.keys import error_key
from logsorter.storage import LocalStore
from support.bombs import gzip_member
from support.uploads import upload

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")

LOGSORTER = str(Path(sys.executable).with_name("logsorter"))
#: Room for the interpreter, pyarrow and a small upload; not for a bomb.
ADDRESS_SPACE = 1536 << 20
MB = 1 << 20
BOMB = DEVICE + "a-bomb.ndjson.gz"
GOOD = DEVICE + "b-good.ndjson.gz"


def sweep(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["prlimit", f"--as={ADDRESS_SPACE}", LOGSORTER, "collate", "--store", str(root), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )


@pytest.fixture
def store_with_a_bomb(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path)
    header = b'{"log_type":"sms"}\n'
    # 3 GiB of one record's body: a 3 MB file.
    body = gzip_member(
        (header, 1), (b'{"address":"x","body":"', 1), (b"x" * MB, 3072), (b'"}\n', 1)
    )
    store.put(BOMB, body)
    store.put(GOOD, upload([sms(1), sms(2)]))
    return store


def test_the_primary_refuses_a_bomb_at_its_limit_and_goes_on(
    store_with_a_bomb: LocalStore, tmp_path: Path
) -> None:
    done = sweep(tmp_path, LOGSORTER_MAX_UPLOAD_MB="64")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())  # the console wraps long lines
    assert f"{BOMB}: failed: {BOMB}: the input is larger than the limit of 64 MB" in said
    assert len(current(store_with_a_bomb)) == 2
    # Transient: no report, so the dead-letter collator gets to try it.
    assert store_with_a_bomb.get(error_key(BOMB)) is None


def test_the_dead_letter_collator_rejects_a_bomb_above_its_ceiling_with_a_report(
    store_with_a_bomb: LocalStore, tmp_path: Path
) -> None:
    done = sweep(tmp_path, "--dlq", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024")
    assert done.returncode == 1, done.stderr
    report_blob = store_with_a_bomb.get(error_key(BOMB))
    assert report_blob is not None
    report = json.loads(report_blob.data)
    assert report["status"] == "rejected"
    assert "larger than the limit of 256 MB" in report["reason"]
    assert "dead-letter collator's ceiling" in report["reason"]
    assert len(current(store_with_a_bomb)) == 2
    # Rejected for good: the next sweep leaves it alone.
    again = sweep(tmp_path, "--dlq", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
