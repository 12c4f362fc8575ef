"""Input that expands far past memory, read in a child process whose address
space is capped with ``prlimit --as``, as a Lambda's memory is: with a
``max_bytes`` ceiling the core stops there with ``InputTooLargeError``;
without one it fails with ``MemoryError``, never by aborting the process.
Input within the ceiling parses within a small multiple of its size."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.bombs import gzip_member, with_trailer_size

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")

#: The child's address space. A bare ``import logsorter, pyarrow`` peaks near
#: 250 MB of it (threads and allocator arenas reserve more than they use);
#: 1 GiB leaves room for a 64 MB input and its parse, not for a bomb.
ADDRESS_SPACE = 1 << 30
MB = 1 << 20
MAX_BYTES = 64 * MB
GIB = 1 << 30

CHILD = """
import sys
from pathlib import Path

from logsorter import RuleSet
from logsorter._core import UploadParser

path, action, limit = sys.argv[1:]
data = Path(path).read_bytes()
max_bytes = None if limit == "none" else int(limit)


def status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])


# Resets the peak resident size (VmHWM) to the current one.
open("/proc/self/clear_refs", "w").write("5")
before = status_kb("VmRSS")
try:
    if action == "classify":
        RuleSet.default().classify(data, max_bytes=max_bytes)
        print("ok")
    else:
        parser = UploadParser({"sms": ([("address", "str")], ["address"])})
        parsed = parser.parse(data, max_bytes=max_bytes)
        print("ok", parsed.records, parsed.duplicates, len(parsed.rejected))
except (ValueError, MemoryError) as err:
    print(type(err).__name__, err)
print((status_kb("VmHWM") - before) * 1024, file=sys.stderr)
"""


def run_capped(path: Path, action: str, max_bytes: int | None) -> str:
    """What the child printed: ``ok ...`` or the exception's name and message."""
    return run_capped_measured(path, action, max_bytes)[0]


def run_capped_measured(path: Path, action: str, max_bytes: int | None) -> tuple[str, int]:
    """What the child printed, and by how many bytes its peak resident
    memory grew while parsing."""
    limit = "none" if max_bytes is None else str(max_bytes)
    done = subprocess.run(
        ["prlimit", f"--as={ADDRESS_SPACE}", sys.executable, "-c", CHILD, str(path), action, limit],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-2000:]}"
    return done.stdout.strip(), int(done.stderr.split()[-1])


HEADER = b'{"log_type":"wifi_scan"}\n'
ZEROS = bytes(MB)


def test_the_bomb_builder_writes_valid_gzip() -> None:
    member = gzip_member((b"ab", 3), (b"\n", 2), (ZEROS, 5))
    assert gzip.decompress(member) == b"ababab\n\n" + ZEROS * 5


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each a few MB of gzip that expands to gigabytes."""
    six_gib = gzip_member((ZEROS, 6 * 1024))  # the trailer says 2 GiB: modulo 4 GiB
    members = gzip_member((ZEROS, 2 * 1024)) * 3
    made = {
        "single member, 6 GiB": six_gib,
        "trailer claiming 1 MB": with_trailer_size(six_gib, MB),
        "3 members of 2 GiB": members,
    }
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for index, (name, data) in enumerate(made.items()):
        paths[name] = folder / f"bomb{index}.gz"
        paths[name].write_bytes(data)
    return paths


BOMBS = ["single member, 6 GiB", "trailer claiming 1 MB", "3 members of 2 GiB"]


@pytest.mark.parametrize("action", ["classify", "parse"])
@pytest.mark.parametrize("bomb", BOMBS)
def test_a_bomb_stops_at_the_ceiling(bombs: dict[str, Path], bomb: str, action: str) -> None:
    assert run_capped(bombs[bomb], action, MAX_BYTES) == (
        "InputTooLargeError the input is larger than the limit of 64 MB when decompressed"
    )


@pytest.mark.parametrize("action", ["classify", "parse"])
@pytest.mark.parametrize("bomb", BOMBS)
def test_a_bomb_without_a_ceiling_is_a_memory_error(
    bombs: dict[str, Path], bomb: str, action: str
) -> None:
    assert run_capped(bombs[bomb], action, None).startswith("MemoryError cannot allocate")


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(
            gzip_member((HEADER, 1), (b'{"ssid":"', 1), (b"x" * MB, 1536), (b'"}\n', 1)),
            id="a 1.5 GiB record",
        ),
        pytest.param(gzip_member((HEADER, 1), (b"\n" * MB, 3 * 1024)), id="3 GiB of newlines"),
    ],
)
def test_an_upload_that_expands_past_the_ceiling_stops_there(tmp_path: Path, upload: bytes) -> None:
    path = tmp_path / "upload.gz"
    path.write_bytes(upload)
    assert run_capped(path, "parse", MAX_BYTES).startswith("InputTooLargeError")


SMS_HEADER = b'{"log_type":"sms"}\n'
TINY_LINES = (MAX_BYTES - len(HEADER)) // 3
#: Uploads of at most the ceiling, built when a test asks (64 MB each), and
#: what the child prints for each: records, duplicates, rejected lines.
WITHIN_THE_CEILING: dict[str, tuple[Callable[[], bytes], bool, str]] = {
    "tiny records": (lambda: HEADER + b"{}\n" * TINY_LINES, False, f"ok 1 {TINY_LINES - 1} 0"),
    "tiny bad records": (lambda: SMS_HEADER + b"{}\n" * TINY_LINES, True, f"ok 0 0 {TINY_LINES}"),
    "newlines": (lambda: HEADER + b"\n" * (MAX_BYTES - len(HEADER)), True, "ok 0 0 0"),
    "a huge record": (lambda: HEADER + b'{"ssid":"' + b"x" * (60 * MB) + b'"}\n', True, "ok 1 0 0"),
}


@pytest.mark.parametrize("upload", WITHIN_THE_CEILING)
def test_an_upload_within_the_ceiling_parses_in_a_small_multiple_of_its_size(
    tmp_path: Path, upload: str
) -> None:
    build, compress, expected = WITHIN_THE_CEILING[upload]
    text = build()
    assert len(text) <= MAX_BYTES
    path = tmp_path / "upload"
    path.write_bytes(gzip.compress(text, 1) if compress else text)
    printed, grown = run_capped_measured(path, "parse", MAX_BYTES)
    assert printed == expected
    # The most is a record of one huge string: the text, the parsed string and
    # its canonical copy for ``extra`` (3x).
    assert grown <= 4 * len(text), f"peak memory grew by {grown / len(text):.1f}x the upload"
