"""A store in a local directory: the same keys as files under a root,
compare-and-swap through a lock file and an atomic rename."""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from logsorter.storage.base import Blob, Body, ObjectInfo, Store, UnsafeKey, check_key

#: Bytes per write when copying a file object into place.
_COPY_CHUNK = 16 << 20


class LocalStore(Store):
    """Keys as files under ``root``. Writes go to a temporary file in the same
    directory and are renamed into place, so readers never see half a file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

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

    def put(self, key: str, data: Body | BinaryIO) -> None:
        path = self.path(key)
        temporary = self._written(path, data)
        try:
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)

    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        path = self.path(key)
        # Written before taking the lock, so other writers wait only for the
        # check and the rename, not for the body to be produced.
        temporary = self._written(path, data)
        try:
            with path.with_name(f".{path.name}.lock").open("ab") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                current = self.head(key)
                if (current.etag if current else None) != etag:
                    return None
                temporary.replace(path)
                written = self.head(key)
                assert written is not None, "the lock keeps other writers out"
                return written.etag
        finally:
            temporary.unlink(missing_ok=True)

    @staticmethod
    def _written(path: Path, data: Body | BinaryIO) -> Path:
        """A temporary file beside ``path`` holding ``data``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with temporary.open("wb") as file:
                if isinstance(data, bytes):
                    file.write(data)
                elif callable(data):
                    data(file)
                else:
                    shutil.copyfileobj(data, file, _COPY_CHUNK)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix.rpartition("/")[0]
        if not base.is_dir():
            return
        found = []
        for directory, _, files in os.walk(base):
            for name in files:
                if name.startswith("."):
                    continue  # lock and temporary files
                key = Path(directory, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        yield from sorted(found)

    def describe(self) -> str:
        return str(self.root)
