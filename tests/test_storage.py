"""S3Store's reading of a body cut off mid-stream, with a stand-in client:
every reader of a store gets the same retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError
from logsorter.storage import S3Store


class CutBody:
    def __init__(self, data: bytes, cut: bool) -> None:
        self.data = data
        self.cut = cut

    def read(self) -> bytes:
        if self.cut:
            raise ResponseStreamingError(error="connection reset")
        return self.data


class FlakyClient:
    """Answers GetObject with ``cuts`` bodies cut off, then the whole one."""

    def __init__(self, cuts: int) -> None:
        self.cuts = cuts
        self.calls = 0

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls += 1
        if Key == "absent":
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {
            "Body": CutBody(b"log", cut=self.calls <= self.cuts),
            "ETag": '"e"',
            "LastModified": datetime(2026, 1, 1, tzinfo=UTC),
        }


def test_a_body_cut_off_is_read_again() -> None:
    client = FlakyClient(cuts=2)
    blob = S3Store(client, "bucket").get("log/1")  # type: ignore[arg-type]
    assert blob is not None
    assert blob.data == b"log"
    assert client.calls == 3


def test_a_body_cut_off_on_every_attempt_raises() -> None:
    client = FlakyClient(cuts=3)
    with pytest.raises(ResponseStreamingError):
        S3Store(client, "bucket").get("log/1")  # type: ignore[arg-type]
    assert client.calls == 3


def test_a_missing_object_is_none() -> None:
    assert S3Store(FlakyClient(cuts=0), "bucket").get("absent") is None  # type: ignore[arg-type]
