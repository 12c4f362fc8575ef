"""A log that expands to gigabytes, classified by the handler the way it runs
(``logsorter invoke classify``, in a process whose address space is capped
with ``prlimit --as`` as a Lambda's memory is): it answers 413 naming the
ceiling, writes nothing, and never aborts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from classifier_stack import Stack
from support.bombs import gzip_member
from support.events import api_event

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit"),
]

LOGSORTER = str(Path(sys.executable).with_name("logsorter"))
#: About the classifier's Lambda memory (1769 MB).
ADDRESS_SPACE = 1769 << 20
MB = 1 << 20
#: 4 GiB of log lines in about 4 MB of gzip.
BOMB = gzip_member((b"2026-01-05T10:00:00.1000000Z step output ok\n" * 1000, 4 * 1024 * 23))


def invoke_capped(tmp_path: Path, job_id: int, **env: str) -> dict[str, object]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(api_event(job_id=job_id)))
    done = subprocess.run(
        [
            "prlimit",
            f"--as={ADDRESS_SPACE}",
            LOGSORTER,
            "invoke",
            "classify",
            "--data-file",
            str(event),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    response: dict[str, object] = json.loads(done.stdout)
    return response


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"LOGSORTER_MAX_LOG_MB": "64"}, "larger than the limit of 64 MB when decompressed"),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}, "larger than the limit of"),
        ({}, "does not fit in this function's memory"),
    ],
    ids=["explicit ceiling", "a quarter of the memory", "no ceiling"],
)
def test_a_bomb_is_a_413_naming_the_limit(
    stack: Stack, tmp_path: Path, env: dict[str, str], reason: str
) -> None:
    stack.s3.put_object(Bucket="ossci-raw-job-status", Key="log/5001", Body=BOMB)
    stack.put_item("pytorch/pytorch/5001")
    response = invoke_capped(tmp_path, 5001, **env)
    assert response["statusCode"] == 413
    assert reason in str(response["body"])
    assert "torchci_classification" not in (stack.item("pytorch/pytorch/5001") or {})
