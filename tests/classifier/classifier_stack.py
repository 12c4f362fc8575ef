"""What the classifier tests share: the resources' names, sample logs and a
handle on the moto-side resources."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

from logsorter.classifier.jobs_table import DIGEST_ATTRIBUTE, KEY_ATTRIBUTE, VERDICT_ATTRIBUTE

LOG_BUCKET = "ossci-raw-job-status"
TEMP_LOG_BUCKET = "gha-artifacts"
TABLE = "torchci-workflow-job"

#: A GitHub Actions log that fails one test, as the runner writes it.
FAILING_LOG = "\n".join(
    [
        "2026-01-05T10:00:00.1000000Z ##[group]Run python test/run_test.py",
        "2026-01-05T10:00:00.2000000Z + python test/run_test.py --shard 1 2",
        "2026-01-05T10:02:11.0000000Z test_ops.py::TestOps::test_add PASSED",
        "2026-01-05T10:02:12.0000000Z FAILED test_ops.py::TestOps::test_mul - AssertionError",
        "2026-01-05T10:02:13.0000000Z ##[error]Process completed with exit code 1.",
        "",
    ]
)
PASSING_LOG = "2026-01-05T10:00:00.1000000Z all 812 tests passed\n"


@dataclass
class Stack:
    """Clients on the moto server, with the classifier's resources created."""

    s3: Any
    dynamodb: Any
    sqs: Any

    def put_log(self, key: str, text: str | bytes, bucket: str = LOG_BUCKET) -> bytes:
        data = text.encode() if isinstance(text, str) else text
        body = gzip.compress(data)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return body

    def item(self, key: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=TABLE, Key={KEY_ATTRIBUTE: {"S": key}}, ConsistentRead=True
        ).get("Item")
        return item

    def put_item(self, key: str, **attributes: str) -> None:
        item = {KEY_ATTRIBUTE: {"S": key}, **{k: {"S": v} for k, v in attributes.items()}}
        self.dynamodb.put_item(TableName=TABLE, Item=item)

    def put_verdict(self, key: str, rule: str, digest: str) -> None:
        """A verdict as an earlier classification left it."""
        verdict = {"rule": {"S": rule}, "line_num": {"N": "1"}, "line": {"S": rule}}
        self.dynamodb.update_item(
            TableName=TABLE,
            Key={KEY_ATTRIBUTE: {"S": key}},
            UpdateExpression="SET #verdict = :v, #digest = :d",
            ExpressionAttributeNames={"#verdict": VERDICT_ATTRIBUTE, "#digest": DIGEST_ATTRIBUTE},
            ExpressionAttributeValues={":v": {"M": verdict}, ":d": {"S": digest}},
        )

    def all_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.dynamodb.scan(TableName=TABLE)["Items"]
        return items


def stored_verdict(item: dict[str, object], attribute: str = VERDICT_ATTRIBUTE) -> object:
    """The verdict attribute as plain Python, for comparison."""
    value = item[attribute]
    assert isinstance(value, dict)
    fields = value["M"]
    return {
        "rule": fields["rule"]["S"],
        "line": fields["line"]["S"],
        "line_num": int(fields["line_num"]["N"]),
        "captures": [c["S"] for c in fields["captures"]["L"]],
        "context": [c["S"] for c in fields["context"]["L"]],
        "score": float(fields["score"]["N"]),
    }
