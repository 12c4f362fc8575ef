"""One collation in a process of its own, killed with SIGKILL just before its
N-th write to the store, as the platform kills a function mid-flight:

    python tests/support/killing_store.py STORE KEY N

STORE is a directory or ``s3://BUCKET`` (with ``AWS_ENDPOINT_URL`` set). With
N = 0 nothing is killed and the number of writes is printed, so a test can
kill at each one in turn.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO

from logsorter.cli.collate import open_store
from logsorter.collator import collate_upload
from logsorter.storage import Blob, Body, ObjectInfo, Store


class KillingStore(Store):
    """Passes everything to ``inner``; SIGKILLs this process before write N."""

    def __init__(self, inner: Store, kill_at: int) -> None:
        self.inner = inner
        self.kill_at = kill_at
        self.writes = 0

    def _write(self) -> None:
        self.writes += 1
        if self.writes == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def head(self, key: str) -> ObjectInfo | None:
        return self.inner.head(key)

    def get(self, key: str) -> Blob | None:
        return self.inner.get(key)

    def open(self, key: str) -> AbstractContextManager[tuple[BinaryIO, ObjectInfo] | None]:
        return self.inner.open(key)

    def put(self, key: str, data: Body | BinaryIO) -> str:
        self._write()
        return self.inner.put(key, data)

    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        self._write()
        return self.inner.put_if(key, data, etag)

    def delete(self, key: str) -> None:
        self._write()
        self.inner.delete(key)

    def list_objects(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        return self.inner.list_objects(prefix)

    def describe(self) -> str:
        return self.inner.describe()


def main() -> None:
    spec, key, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = KillingStore(open_store(spec), kill_at)
    collate_upload(store, key)
    print(store.writes)


if __name__ == "__main__":
    main()
