"""Where uploads and collated logs live: one small interface, two
implementations. ``S3Store`` talks to a bucket through a boto3 client;
``LocalStore`` keeps the same keys as files under a root directory.

Both offer compare-and-swap (``put_if``): S3 through conditional ``PutObject``
(``IfMatch`` / ``IfNoneMatch='*'``), the directory through a lock file and an
atomic rename.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class UnsafeKey(ValueError):
    """A key that could name something outside the store."""


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
    def put(self, key: str, data: Body | BinaryIO) -> None:
        """Write ``data``; a file object (read from its current position to
        the end) or a writer lets a large body be written without another
        copy of it."""

    @abstractmethod
    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        """Write only if the object is still at version ``etag`` (``None``: only
        if it does not exist). The new version, or None when another writer
        got there first."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix``, in lexical order."""

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


class S3Store(Store):
    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as err:
            if _status(err) == 404:
                return None
            raise
        return ObjectInfo(
            response["ContentLength"], response["ETag"], response["LastModified"].astimezone(UTC)
        )

    def get(self, key: str) -> Blob | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        data = response["Body"].read()
        info = ObjectInfo(len(data), response["ETag"], response["LastModified"].astimezone(UTC))
        return Blob(data, info)

    def put(self, key: str, data: Body | BinaryIO) -> None:
        body = _in_memory(data) if callable(data) else data
        self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=body)

    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        data = _in_memory(data) if callable(data) else data
        try:
            if etag is None:
                response = self.client.put_object(
                    Bucket=self.bucket, Key=check_key(key), Body=data, IfNoneMatch="*"
                )
            else:
                response = self.client.put_object(
                    Bucket=self.bucket, Key=check_key(key), Body=data, IfMatch=etag
                )
        except ClientError as err:
            # 412: the version moved on; 409: a concurrent conditional write
            # to the same key is in flight. Either way the caller re-reads.
            if _status(err) in (409, 412):
                return None
            raise
        return response["ETag"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def describe(self) -> str:
        return f"s3://{self.bucket}"


#: Bytes per write when copying a file object into place.
_COPY_CHUNK = 16 << 20


def _in_memory(write: Callable[[BinaryIO], None]) -> bytes:
    """A writer's body, for a client that sends bytes."""
    sink = io.BytesIO()
    write(sink)
    return sink.getvalue()


def _status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


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
