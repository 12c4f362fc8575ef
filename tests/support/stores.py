"""A store that passes every call through to another, with a hook around each
write: the base of the stores that crash, kill or interfere mid-collation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO

from logsorter.storage import Blob, Body, ObjectInfo, Store


class PassThroughStore(Store):
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        #: Puts, compare-and-swaps and deletes so far, the current one included.
        self.writes = 0

    def before_write(self, key: str) -> None:
        """Called before each put, compare-and-swap and delete, once
        ``writes`` counts it."""

    def after_write(self, key: str) -> None:
        """Called after each put, compare-and-swap and delete."""

    def _count(self, key: str) -> None:
        self.writes += 1
        self.before_write(key)

    def head(self, key: str) -> ObjectInfo | None:
        return self.inner.head(key)

    def get(self, key: str) -> Blob | None:
        return self.inner.get(key)

    def open(self, key: str) -> AbstractContextManager[tuple[BinaryIO, ObjectInfo] | None]:
        return self.inner.open(key)

    def put(self, key: str, data: Body | BinaryIO) -> str:
        self._count(key)
        version = self.inner.put(key, data)
        self.after_write(key)
        return version

    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        self._count(key)
        version = self.inner.put_if(key, data, etag)
        self.after_write(key)
        return version

    def delete(self, key: str) -> None:
        self._count(key)
        self.inner.delete(key)
        self.after_write(key)

    def list_objects(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        return self.inner.list_objects(prefix)

    def describe(self) -> str:
        return self.inner.describe()
