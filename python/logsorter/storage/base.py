"""What every store offers (``Store``), the values it reads and writes, and
the key check that keeps every implementation inside its root."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO


class UnsafeKey(ValueError):
    """A key that could name something outside the store."""


class StoreBusy(TimeoutError):
    """Another writer held the key longer than a writer waits: try again later."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    #: Opaque version token for ``put_if``.
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class Blob:
    data: bytes
    info: ObjectInfo


#: A body to write, or a function that writes it into the file it is given:
#: a large body can then be produced straight into place, never held whole.
Body = bytes | Callable[[BinaryIO], None]


class Store(ABC):
    """Keys are ``/``-separated relative paths without ``.`` or ``..`` segments."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None: ...

    @abstractmethod
    def get(self, key: str) -> Blob | None: ...

    @contextmanager
    def open(self, key: str) -> Iterator[tuple[BinaryIO, ObjectInfo] | None]:
        """The object as a seekable file and its info (None if it does not
        exist), for readers that need only parts of it at a time."""
        blob = self.get(key)
        yield (io.BytesIO(blob.data), blob.info) if blob else None

    @abstractmethod
    def put(self, key: str, data: Body | BinaryIO) -> str:
        """Write ``data`` and return the new version; a file object (read from
        its current position to the end) or a writer lets a large body be
        written without another copy of it."""

    @abstractmethod
    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        """Write only if the object is still at version ``etag`` (``None``: only
        if it does not exist). The new version, or None when another writer
        got there first."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def list_objects(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        """Every key starting with ``prefix`` and its info, in lexical order."""

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix``, in lexical order."""
        return (key for key, _ in self.list_objects(prefix))

    def list_folders(self, prefix: str) -> list[str]:
        """The distinct ``prefix + name + "/"`` that keys under ``prefix`` (a
        folder, ending in ``/``) continue with, in lexical order: one level
        of the tree, as S3 lists with a delimiter. This default walks every
        key; the stores answer without doing so."""
        found = {
            prefix + rest.partition("/")[0] + "/"
            for key in self.list_keys(prefix)
            if "/" in (rest := key[len(prefix) :])
        }
        return sorted(found)

    @abstractmethod
    def describe(self) -> str: ...


def check_key(key: str) -> str:
    segments = key.split("/")
    if (
        not key
        or key.startswith("/")
        or any(s in ("", ".", "..") for s in segments)
        or "\\" in key
        or "\x00" in key
    ):
        raise UnsafeKey(f"unsafe key {key!r}")
    return key
