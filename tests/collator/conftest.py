"""Stores for the collator tests: every invariant runs on the local directory
and (marked integration) on S3 through the moto server."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from collator_support import BUCKET
from logsorter import handlers
from logsorter.storage import LocalStore, S3Store, Store


@pytest.fixture
def s3_store(aws: str) -> S3Store:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return S3Store(client, BUCKET)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path)
    s3: Store = request.getfixturevalue("s3_store")
    return s3


@pytest.fixture(autouse=True)
def fresh_collators(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a cold container would."""
    monkeypatch.setattr(handlers, "_collators", {})
