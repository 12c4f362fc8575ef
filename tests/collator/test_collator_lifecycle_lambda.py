"""The lifecycle on S3 through the functions as Lambda runs them: ``logsorter
rebuild --queue`` fanning out to the collator under the runtime interface
client, hostile rebuild messages, the forget handler, and the encryption
headers of every object written."""

from __future__ import annotations

import json
import tempfile

import boto3
import pytest
from collator_support import BUCKET, DEVICE, invoke, sms
from lambda_runtime import lambda_function
from logsorter import handlers
from logsorter.cli import main
from logsorter.collator import collate_upload
from logsorter.collator.events import BadRequest
from logsorter.functions import FUNCTIONS_BY_NAME
from logsorter.storage import S3Store
from support.events import s3_event, sqs_event
from support.uploads import upload

pytestmark = pytest.mark.integration


def collated(store: S3Store) -> dict[str, bytes]:
    found = {}
    for key in store.list_keys("collated_logs/"):
        if not key.startswith("collated_logs/published/"):
            blob = store.get(key)
            assert blob is not None
            found[key] = blob.data
    return found


def test_rebuild_fans_out_one_message_per_device_to_the_collator_function(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for device in ("d1", "d2"):
        key = f"uploads/users/u1/unknown/{device}/sms-0"
        s3_store.put(key, upload([sms(1), sms(2)]))
        collate_upload(s3_store, key)
    before = collated(s3_store)
    # What the rebuild must bring back, so its work is seen to be the function's.
    for key in before:
        if "/diff/" in key or key.endswith(".txt"):
            s3_store.delete(key)
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    monkeypatch.setenv("LOGSORTER_UPLOAD_BUCKETS", BUCKET)
    assert main(["rebuild", "--store", f"s3://{BUCKET}", "--user", "u1", "--queue", queue]) == 0
    assert collated(s3_store) != before  # nothing rebuilt here
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = sorted(json.loads(m["Body"])["rebuild"]["device_id"] for m in messages)
    assert bodies == ["d1", "d2"]

    hostile = [
        {"rebuild": {"bucket": BUCKET, "user_id": "../u1", "device_id": "d1"}},
        {"rebuild": {"bucket": BUCKET, "user_id": "u1", "device_id": "d1", "extra": 1}},
        {"rebuild": "u1"},
    ]
    with tempfile.TemporaryFile() as log:
        with lambda_function(
            FUNCTIONS_BY_NAME["collate"].handler, {"LOGSORTER_UPLOAD_BUCKETS": BUCKET}, log=log
        ) as collator:
            event = sqs_event(*(m["Body"] for m in messages), *hostile)
            assert invoke(collator, event) == {"batchItemFailures": []}
        log.seek(0)
        lines = [json.loads(line) for line in log.read().splitlines() if line.startswith(b"{")]
    assert collated(s3_store) == before
    warnings = [line["message"] for line in lines if line.get("level") == "WARNING"]
    assert sorted(warnings) == [
        "ignoring a rebuild request: must be a JSON object, got str",
        "ignoring a rebuild request: unknown field 'extra'",
        "ignoring a rebuild request: user_id '../u1' is not 1-128 of [A-Za-z0-9_-]",
    ]
    assert sum(line.get("message") == "rebuilt" for line in lines) == 2


def test_the_forget_handler_erases_and_refuses_bad_requests_in_one_line(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_store.put(DEVICE + "sms-0", upload([sms(1)]))
    collate_upload(s3_store, DEVICE + "sms-0")
    with lambda_function(
        FUNCTIONS_BY_NAME["forget"].handler, {"LOGSORTER_UPLOAD_BUCKETS": BUCKET}
    ) as forgetter:
        dry = invoke(forgetter, {"user_id": "u1", "device_id": "d1", "dry_run": True})
        assert dry["deleted"]["current"]["objects"] == 1
        assert s3_store.head("collated_logs/current/sms/user-u1/device-d1.parquet") is not None
        done = invoke(forgetter, {"user_id": "u1", "device_id": "d1"})
        assert done["tombstone"] == "collated_logs/forgotten/user-u1/device-d1.json"
        assert done["deleted"]["diff"]["objects"] == 1
        refused = invoke(forgetter, {"user_id": "u1", "devise_id": "d1"})
        assert refused["errorType"] == "BadRequest"
        assert refused["errorMessage"] == "forget request: unknown field 'devise_id'"
    assert [k for k in s3_store.list_keys("collated_logs/") if "forgotten" not in k] == []
    monkeypatch.setenv("LOGSORTER_UPLOAD_BUCKETS", BUCKET)
    with pytest.raises(BadRequest, match=r"^forget request: user_id 1 is not"):
        handlers.forget({"user_id": 1}, None)


@pytest.mark.parametrize("with_key", [False, True])
def test_every_object_the_collator_writes_is_encrypted_at_rest(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch, with_key: bool
) -> None:
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["Arn"] if with_key else None
    if key_id:
        monkeypatch.setenv("LOGSORTER_KMS_KEY_ID", key_id)
    s3_store.put(DEVICE + "sms-0", upload([sms(1), {"address": 1}]))
    s3_store.put(DEVICE + "broken", b"\x1f\x8b not gzip")
    handlers.collate(s3_event(BUCKET, DEVICE + "sms-0", DEVICE + "broken"), None)
    written = list(s3_store.list_keys("collated_logs/"))
    assert any("/errors/" in k for k in written)
    assert any("/current/" in k for k in written)
    for key in written:
        head = s3_store.client.head_object(Bucket=BUCKET, Key=key)
        if key_id:
            assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_id), key
        else:
            assert head["ServerSideEncryption"] == "AES256", key
