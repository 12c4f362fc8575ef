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

from logsorter.collator.errors import RejectedUpload
from logsorter.collator.schema import LogType

UPLOAD_PREFIX = "uploads/users/"
OUTPUT_PREFIX = "collated_logs/"
CURRENT_PREFIX = f"{OUTPUT_PREFIX}current/"
ERROR_PREFIX = f"{OUTPUT_PREFIX}errors/"
STAGING_PREFIX = f"{OUTPUT_PREFIX}staging/"
FORGOTTEN_PREFIX = f"{OUTPUT_PREFIX}forgotten/"
#: The folders under ``collated_logs/`` whose next level is a log type, and
#: below it (``diff/`` after a ``dt=`` level) ``user-U/device-D...``.
PER_LOG_TYPE_FOLDERS = ("current", "diff", "staging", "published", "quarantine")
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_LOG_TYPE = re.compile(r"[a-z0-9_]{1,64}")
_CURRENT_KEY = re.compile(
    re.escape(CURRENT_PREFIX) + r"(?P<log_type>[a-z0-9_]{1,64})/user-(?P<user>[A-Za-z0-9_-]{1,128})"
    r"/device-(?P<device>[A-Za-z0-9_-]{1,128})\.parquet"
)
_MAX_FILE_NAME = 255


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
    def device(self) -> Device:
        return Device(self.user_id, self.device_id)


@dataclass(frozen=True)
class Device:
    """Whose collated data a key belongs to: outputs are per user and device
    (the serial number is provenance only)."""

    user_id: str
    device_id: str

    @property
    def path(self) -> str:
        return f"user-{self.user_id}/device-{self.device_id}"


def is_id(value: object) -> bool:
    """A user, serial or device id as upload keys may name it."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def is_log_type_name(value: object) -> bool:
    return isinstance(value, str) and _LOG_TYPE.fullmatch(value) is not None


def tombstone_key(user_id: str, device_id: str | None = None) -> str:
    """The erasure of a user (or of one of their devices), which the
    collator respects."""
    user = f"{FORGOTTEN_PREFIX}user-{user_id}"
    return f"{user}/device-{device_id}.json" if device_id else f"{user}.json"


def content_digest(data: bytes) -> str:
    """What identifies an upload's bytes: the same bytes sent again under the
    same key are the same upload; other bytes under that key are a new one."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def version_id(key: str, content: str) -> str:
    """The name of everything derived from one version of one upload key."""
    return key_digest(f"{key}\n{content}")


def current_key(log_type: LogType, device: Device) -> str:
    return f"{CURRENT_PREFIX}{log_type.name}/{device.path}.parquet"


def parse_current_key(key: str) -> tuple[str, Device] | None:
    """``(log type name, device)`` of a ``current`` key; None for any other key."""
    match = _CURRENT_KEY.fullmatch(key)
    return (match["log_type"], Device(match["user"], match["device"])) if match else None


def diff_key(log_type: LogType, device: Device, uploaded_at: datetime, version: str) -> str:
    day = f"dt={uploaded_at:%Y-%m-%d}"
    return f"{OUTPUT_PREFIX}diff/{log_type.name}/{day}/{device.path}/{version}.parquet"


def staging_prefix(log_type: LogType, device: Device) -> str:
    return f"{STAGING_PREFIX}{log_type.name}/{device.path}/"


def staged_diff_key(log_type: LogType, device: Device, version: str, digest: str) -> str:
    """Where a diff waits until the current that contains it is committed."""
    return f"{staging_prefix(log_type, device)}{version}-{digest}.parquet"


def published_key(log_type: LogType, device: Device) -> str:
    """Which ``current`` the device's text was last rendered from."""
    return f"{OUTPUT_PREFIX}published/{log_type.name}/{device.path}.json"


def quarantine_key(log_type: LogType, device: Device, name: str) -> str:
    """Where a ``current`` that cannot be read is kept for inspection."""
    return f"{OUTPUT_PREFIX}quarantine/{log_type.name}/{device.path}/{name}"


def text_key(log_type: LogType, device: Device) -> str:
    return f"{OUTPUT_PREFIX}{device.path}/{log_type.name}.txt"


def error_key(upload_key: str) -> str:
    """One report per upload key, overwritten when the upload is processed again."""
    return f"{ERROR_PREFIX}{key_digest(upload_key)}.json"
