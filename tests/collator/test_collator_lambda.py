"""The collate and collate_dlq handlers on the moto server: S3 notifications
delivered through SQS, partial-batch failures, every dead-letter wrapping, and
HTTP faults between the function and S3."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from collator_support import BUCKET, DEVICE, current, sms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logsorter import handlers
from logsorter.collator.errors import UploadTooLarge
from logsorter.collator.keys import error_key
from logsorter.storage import S3Store
from support.events import batch, object_created_event, s3_event, sns_record, sqs_event
from support.faults import Fault, fault_proxy
from support.uploads import upload

pytestmark = pytest.mark.integration


def test_s3_notifications_through_sqs_drive_the_handler(s3_store: S3Store) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3_store.client.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )
    # A space and a plus in the file name arrive URL-encoded in the notification.
    names = ["sms 1+a.ndjson.gz", "sms-2.ndjson"]
    s3_store.put(DEVICE + names[0], upload([sms(1), sms(2)]))
    s3_store.put(DEVICE + names[1], upload([sms(2), sms(3)], gzipped=False))
    bodies: list[str] = []
    for _ in range(10):
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        bodies += [m["Body"] for m in received.get("Messages", [])]
        if sum('"aws:s3"' in body for body in bodies) == len(names):
            break
    assert sum('"aws:s3"' in body for body in bodies) == len(names)
    result = handlers.collate(sqs_event(*bodies), None)
    assert result == {"batchItemFailures": []}
    rows = current(s3_store)
    assert sorted(r["source_key"] for r in rows) == sorted(
        [DEVICE + names[0]] * 2 + [DEVICE + names[1]]
    )
    outside = [
        k for k in s3_store.list_keys("") if not k.startswith(("uploads/", "collated_logs/"))
    ]
    assert not outside


def test_eventbridge_object_created_drives_the_handler_directly_or_through_sqs(
    s3_store: S3Store,
) -> None:
    s3_store.put(DEVICE + "sms-1.ndjson.gz", upload([sms(1), sms(2)]))
    s3_store.put(DEVICE + "sms 2.ndjson.gz", upload([sms(2), sms(3)]))
    direct = handlers.collate(object_created_event(BUCKET, DEVICE + "sms-1.ndjson.gz"), None)
    assert direct == {"results": [{"key": DEVICE + "sms-1.ndjson.gz", "status": "collated"}]}
    queued = sqs_event(object_created_event(BUCKET, DEVICE + "sms+2.ndjson.gz"))
    assert handlers.collate(queued, None) == {"batchItemFailures": []}
    assert sorted(r["source_key"] for r in current(s3_store)) == sorted(
        [DEVICE + "sms-1.ndjson.gz"] * 2 + [DEVICE + "sms 2.ndjson.gz"]
    )


def test_transient_failures_fail_only_their_message_and_permanent_ones_are_reported(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGSORTER_MAX_UPLOAD_MB", "0.01")
    s3_store.put(DEVICE + "small", upload([sms(1)]))
    s3_store.put(
        DEVICE + "large", upload([sms(i, body=f"{i:x}" * 40) for i in range(2000)], gzipped=False)
    )
    s3_store.put(DEVICE + "broken", b"\x1f\x8b\x08 not really gzip")
    hostile = "uploads/users/..%2F..%2Fetc/unknown/d1/x"
    result = handlers.collate(
        sqs_event(
            s3_event(BUCKET, DEVICE + "small"),
            s3_event(BUCKET, DEVICE + "large"),
            s3_event(BUCKET, DEVICE + "broken"),
            s3_event(BUCKET, hostile),
        ),
        None,
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [r["source_key"] for r in current(s3_store)] == [DEVICE + "small"]
    assert s3_store.get(error_key(DEVICE + "broken")) is not None
    assert s3_store.get(error_key("uploads/users/../../etc/unknown/d1/x")) is not None
    with pytest.raises(UploadTooLarge):
        handlers.collate(s3_event(BUCKET, DEVICE + "large"), None)


def dead_letter_shapes(key: str) -> dict[str, Any]:
    plain = s3_event(BUCKET, key)
    eventbridge = object_created_event(BUCKET, key)
    return {
        "plain": plain,
        "destination": {
            "version": "1.0",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": plain,
            "responsePayload": {"errorType": "UploadTooLarge"},
        },
        "sqs": sqs_event(plain),
        "sns": batch(sns_record(plain)),
        "sns-in-sqs": sqs_event({"Type": "Notification", "Message": json.dumps(plain)}),
        "destination-in-sqs": sqs_event({"requestPayload": plain, "responsePayload": None}),
        "eventbridge": eventbridge,
        "eventbridge-destination": {"requestPayload": eventbridge, "responsePayload": None},
        "eventbridge-in-sqs": sqs_event(eventbridge),
    }


@pytest.mark.parametrize("shape", list(dead_letter_shapes("k")))
def test_the_dead_letter_collator_unwraps_every_shape_and_has_no_size_limit(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    monkeypatch.setenv("LOGSORTER_MAX_UPLOAD_MB", "0.0001")
    key = DEVICE + "sms big.ndjson"
    s3_store.put(key, upload([sms(i) for i in range(200)], gzipped=False))
    with pytest.raises(UploadTooLarge):
        handlers.collate(s3_event(BUCKET, key.replace(" ", "+")), None)
    event = json.loads(json.dumps(dead_letter_shapes(key.replace(" ", "+"))[shape]))
    result = handlers.collate_dlq(event, None)
    assert result.get("batchItemFailures", []) == []
    assert len(current(s3_store)) == 200


def test_s3_faults_between_function_and_bucket_are_survived(
    s3_store: S3Store, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_store.put(DEVICE + "a", upload([sms(1), sms(2)]))
    s3_store.put(DEVICE + "b", upload([sms(2), sms(3)]))
    handlers.collate(s3_event(BUCKET, DEVICE + "a"), None)

    def put_to(fragment: str) -> Any:
        return lambda request: request.method == "PUT" and fragment in request.path

    with fault_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        monkeypatch.setattr(handlers, "_collators", {})  # a new container, behind the proxy
        # The commit of current reaches S3 but its answer is lost: boto3 sends
        # it again, S3 refuses (the version moved on), and the collator must
        # see that its own upload is already recorded.
        lost_reply = proxy.inject(Fault(put_to("collated_logs/current/"), "drop_after_upstream"))
        throttled = proxy.inject(
            Fault(
                put_to("collated_logs/diff/"),
                "respond",
                times=2,
                status=503,
                body=b"<Error><Code>SlowDown</Code><Message>slow down</Message></Error>",
            )
        )
        handlers.collate(s3_event(BUCKET, DEVICE + "b"), None)
    assert (lost_reply.injected, throttled.injected) == (1, 2)
    assert sorted(r["address"] for r in current(s3_store)) == [sms(i)["address"] for i in (1, 2, 3)]
    diff_keys = list(s3_store.list_keys("collated_logs/diff/"))
    assert len(diff_keys) == 2
    assert not list(s3_store.list_keys("collated_logs/staging/"))


def test_only_the_configured_upload_buckets_are_touched(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "someone-elses-bucket"
    s3_store.client.create_bucket(Bucket=other)
    s3_store.client.put_object(Bucket=other, Key=DEVICE + "a", Body=upload([sms(1)]))
    s3_store.put(DEVICE + "a", upload([sms(1)]))
    monkeypatch.setenv("LOGSORTER_UPLOAD_BUCKETS", f" {BUCKET} ,")
    result = handlers.collate(batch(*s3_event(other, DEVICE + "a")["Records"]), None)
    assert result == {"results": [{"key": DEVICE + "a", "status": "ignored"}]}
    listed = s3_store.client.list_objects_v2(Bucket=other)["Contents"]
    assert [item["Key"] for item in listed] == [DEVICE + "a"]
    assert handlers.collate(s3_event(BUCKET, DEVICE + "a"), None)["results"][0]["status"] == (
        "collated"
    )


odd_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def odd_events() -> st.SearchStrategy[object]:
    """Events of every shape, and the real shapes with odd values inside."""
    s3_shaped = st.fixed_dictionaries(
        {
            "eventSource": st.just("aws:s3"),
            "s3": odd_values | st.fixed_dictionaries({"bucket": odd_values, "object": odd_values}),
        }
    )
    sqs_shaped = st.fixed_dictionaries(
        {"eventSource": st.just("aws:sqs"), "messageId": st.text(max_size=3), "body": odd_values}
    )
    records = st.lists(s3_shaped | sqs_shaped | odd_values, max_size=3)
    eventbridge_shaped = st.fixed_dictionaries(
        {
            "source": st.just("aws.s3"),
            "detail-type": st.just("Object Created"),
            "detail": odd_values
            | st.fixed_dictionaries({"bucket": odd_values, "object": odd_values}),
        }
    )
    return (
        odd_values
        | eventbridge_shaped
        | st.fixed_dictionaries({"Records": records})
        | st.fixed_dictionaries({"requestPayload": odd_values})
    )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=odd_events())
def test_odd_events_are_ignored_not_raised_or_redelivered(s3_store: S3Store, event: object) -> None:
    for handler in (handlers.collate, handlers.collate_dlq):
        result = handler(event, None)
        assert result.get("batchItemFailures", []) == []
