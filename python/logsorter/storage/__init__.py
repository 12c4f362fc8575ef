"""Where uploads and collated logs live: one small interface, two
implementations. ``S3Store`` talks to a bucket through a boto3 client;
``LocalStore`` keeps the same keys as files under a root directory.

Both offer compare-and-swap (``put_if``): S3 through conditional ``PutObject``
(``IfMatch`` / ``IfNoneMatch='*'``), the directory through a lock file and an
atomic rename.
"""

from logsorter.storage.base import (
    Blob,
    Body,
    ObjectInfo,
    Store,
    StoreBusy,
    UnsafeKey,
    check_key,
)
from logsorter.storage.local import LocalStore
from logsorter.storage.s3 import S3Store

__all__ = [
    "Blob",
    "Body",
    "LocalStore",
    "ObjectInfo",
    "S3Store",
    "Store",
    "StoreBusy",
    "UnsafeKey",
    "check_key",
]
