"""A store in a local directory: the same keys as files under a root,
compare-and-swap through a lock file and an atomic rename."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from logsorter.storage.base import (
    Blob,
    Body,
    ObjectInfo,
    Store,
    StoreBusy,
    UnsafeKey,
    check_key,
)

#: Bytes per write when copying a file object into place.
_COPY_CHUNK = 16 << 20
#: How long a writer waits for another to finish its compare-and-swap.
LOCK_WAIT_SECONDS = 30.0
#: A temporary file this old belongs to a writer that crashed: no write takes
#: that long, so it is removed when the next write of its key comes.
STALE_TEMPORARY_SECONDS = 3600.0
_TEMPORARY_SUFFIX = ".tmp"


def _remove_stale_temporaries(path: Path) -> None:
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*{_TEMPORARY_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            if temporary.stat().st_mtime < cutoff:
                temporary.unlink()


class LocalStore(Store):
    """Keys as files under ``root``. Writes go to a temporary file in the same
    directory and are renamed into place, so readers never see half a file."""

    def __init__(
        self, root: str | os.PathLike[str], *, lock_wait_seconds: float = LOCK_WAIT_SECONDS
    ) -> None:
        self.root = Path(root).resolve()
        self.lock_wait_seconds = lock_wait_seconds

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafeKey(f"key {key!r} leads outside {self.root}")
        return path

    @staticmethod
    def _info(stat: os.stat_result) -> ObjectInfo:
        # A rename always installs a new inode, so inode, time and size
        # together change with every write.
        etag = f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"
        modified = datetime.fromtimestamp(stat.st_mtime_ns // 1_000_000 / 1000, UTC)
        return ObjectInfo(stat.st_size, etag, modified)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            stat = self.path(key).stat()
        except FileNotFoundError:
            return None
        return self._info(stat)

    def get(self, key: str) -> Blob | None:
        try:
            with self.path(key).open("rb") as file:
                stat = os.fstat(file.fileno())
                return Blob(file.read(), self._info(stat))
        except (FileNotFoundError, IsADirectoryError):
            return None

    @contextmanager
    def open(self, key: str) -> Iterator[tuple[BinaryIO, ObjectInfo] | None]:
        """The file itself: a reader takes only what it needs, and a rename
        over it meanwhile leaves the open version intact."""
        try:
            file = self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            yield None
            return
        with file:
            yield file, self._info(os.fstat(file.fileno()))

    def put(self, key: str, data: Body | BinaryIO) -> str:
        path = self.path(key)
        temporary, version = self._written(path, data)
        try:
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)
        return version

    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        path = self.path(key)
        # Written before taking the lock, so other writers wait only for the
        # check and the rename, not for the body to be produced.
        temporary, version = self._written(path, data)
        try:
            with self._locked(path):
                current = self.head(key)
                if (current.etag if current else None) != etag:
                    return None
                temporary.replace(path)
                return version
        finally:
            temporary.unlink(missing_ok=True)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """The key's lock, waited for at most ``lock_wait_seconds``. A holder
        that dies releases it with its file descriptors; one that is alive
        but stuck (stopped, swapped out) makes the writer give up with
        ``StoreBusy`` instead of waiting forever. The lock file stays: one
        per compare-and-swapped key, so its inode is the lock."""
        with path.with_name(f".{path.name}.lock").open("ab") as lock:
            deadline = time.monotonic() + self.lock_wait_seconds
            pause = 0.001
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreBusy(
                            f"{path}: another writer held its lock for more than "
                            f"{self.lock_wait_seconds:g} s"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
            yield

    def _written(self, path: Path, data: Body | BinaryIO) -> tuple[Path, str]:
        """A temporary file beside ``path`` holding ``data``, and the version
        the key will have once it is renamed into place (a rename keeps the
        inode, time and size)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(path)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}{_TEMPORARY_SUFFIX}")
        try:
            with temporary.open("wb") as file:
                if isinstance(data, bytes):
                    file.write(data)
                elif callable(data):
                    data(file)
                else:
                    shutil.copyfileobj(data, file, _COPY_CHUNK)
                file.flush()
                version = self._info(os.fstat(file.fileno())).etag
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary, version

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list_objects(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        base = self.root / prefix.rpartition("/")[0]
        if not base.is_dir():
            return
        found = []
        for directory, _, files in os.walk(base):
            for name in files:
                if name.startswith("."):
                    continue  # lock and temporary files
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        found.append((key, self._info(path.stat())))
                    except FileNotFoundError:
                        continue  # deleted since the walk saw it
        yield from sorted(found)

    def list_folders(self, prefix: str) -> list[str]:
        base = self.root / prefix.rpartition("/")[0]
        if not base.is_dir():
            return []
        found = []
        for entry in os.scandir(base):
            key = f"{entry.path[len(str(self.root)) + 1 :]}/"
            if entry.is_dir() and key.startswith(prefix) and not entry.name.startswith("."):
                found.append(key)
        return sorted(found)

    def describe(self) -> str:
        return str(self.root)
