"""Upload keys and the output keys derived from them. Every key the collator
writes is built here from validated parts (upload keys parsed here, log types
validated by the upload parser), so nothing can land outside
``collated_logs/``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from logsorter.collator.schema import LogType

UPLOAD_PREFIX = "uploads/users/"
OUTPUT_PREFIX = "collated_logs/"
CURRENT_PREFIX = f"{OUTPUT_PREFIX}current/"
ERROR_PREFIX = f"{OUTPUT_PREFIX}errors/"
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_FILE_NAME = 255


class RejectedUpload(Exception):
    """A permanent problem with an upload: retrying cannot help."""


def key_digest(key: str) -> str:
    """A short, stable name for anything derived from one upload key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True)
class UploadKey:
    key: str
    user_id: str
    device_serial_number: str
    device_id: str
    file_name: str

    @classmethod
    def parse(cls, key: str) -> UploadKey:
        """Validate ``uploads/users/{user}/{serial}/{device}/{file}``."""
        if not key.startswith(UPLOAD_PREFIX):
            raise RejectedUpload(f"key is not under {UPLOAD_PREFIX}: {key!r}")
        parts = key[len(UPLOAD_PREFIX) :].split("/")
        if len(parts) != 4:
            raise RejectedUpload(f"key must be {UPLOAD_PREFIX}USER/SERIAL/DEVICE/FILE, got {key!r}")
        user_id, serial, device_id, file_name = parts
        for what, value in (("user_id", user_id), ("serial", serial), ("device_id", device_id)):
            if not _ID.fullmatch(value):
                raise RejectedUpload(f"{what} {value!r} is not 1-128 of [A-Za-z0-9_-]")
        if (
            file_name in ("", ".", "..")
            or len(file_name) > _MAX_FILE_NAME
            or any(ord(c) < 32 or c in "\\\x7f" for c in file_name)
        ):
            raise RejectedUpload(f"invalid file name {file_name!r}")
        return cls(key, user_id, serial, device_id, file_name)

    @property
    def digest(self) -> str:
        """The digest of the key, which names this upload's diff."""
        return key_digest(self.key)


def current_key(log_type: LogType, user_id: str, device_id: str) -> str:
    return f"{CURRENT_PREFIX}{log_type.name}/user-{user_id}/device-{device_id}.parquet"


def diff_key(log_type: LogType, upload: UploadKey, uploaded_at: datetime) -> str:
    return (
        f"{OUTPUT_PREFIX}diff/{log_type.name}/dt={uploaded_at:%Y-%m-%d}/"
        f"user-{upload.user_id}/device-{upload.device_id}/{upload.digest}.parquet"
    )


def staged_diff_key(log_type: LogType, upload: UploadKey, digest: str) -> str:
    """Where a diff waits until the current that contains it is committed."""
    return (
        f"{OUTPUT_PREFIX}staging/{log_type.name}/user-{upload.user_id}/"
        f"device-{upload.device_id}/{upload.digest}-{digest}.parquet"
    )


def text_key(log_type: LogType, user_id: str, device_id: str) -> str:
    return f"{OUTPUT_PREFIX}user-{user_id}/device-{device_id}/{log_type.name}.txt"


def error_key(upload_key: str) -> str:
    """One report per upload key, overwritten when the upload is processed again."""
    return f"{ERROR_PREFIX}{key_digest(upload_key)}.json"
