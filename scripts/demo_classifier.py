"""The classifier end to end on this machine: an embedded moto server stands in
for S3 and DynamoDB, the sample CI log is uploaded where the real function
finds it, the Lambda handler runs on the shipped API Gateway event, and the
job's DynamoDB item is printed with the verdict on it.

Run by `make demo`; needs the development environment (moto).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import sys
from pathlib import Path

from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
EVENT = json.loads((ROOT / "fixtures/request.json").read_text())
JOB_ID = EVENT["queryStringParameters"]["job_id"]
REPO = EVENT["queryStringParameters"].get("repo", "pytorch/pytorch")


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    try:
        import boto3
        from logsorter.classifier.config import (
            DEFAULT_JOBS_TABLE,
            DEFAULT_LOG_BUCKET,
            DEFAULT_TEMP_LOG_BUCKET,
        )
        from logsorter.classifier.jobs_table import CONCLUSION_ATTRIBUTE, KEY_ATTRIBUTE

        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        s3.create_bucket(Bucket=DEFAULT_LOG_BUCKET)
        s3.create_bucket(Bucket=DEFAULT_TEMP_LOG_BUCKET)
        dynamodb.create_table(
            TableName=DEFAULT_JOBS_TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        )
        key = f"log/{JOB_ID}" if REPO == "pytorch/pytorch" else f"log/{REPO}/{JOB_ID}"
        log = (ROOT / "fixtures/sample-ci-log.txt").read_bytes()
        s3.put_object(Bucket=DEFAULT_LOG_BUCKET, Key=key, Body=gzip.compress(log))
        dynamodb.put_item(
            TableName=DEFAULT_JOBS_TABLE,
            Item={
                KEY_ATTRIBUTE: {"S": f"{REPO}/{JOB_ID}"},
                CONCLUSION_ATTRIBUTE: {"S": "failure"},
            },
        )
        print(f"moto server on {host}:{port}; uploaded s3://{DEFAULT_LOG_BUCKET}/{key}")

        from logsorter import handlers

        response = handlers.classify(EVENT, None)
        print(f"\nhandler response: {response['statusCode']}")
        print(response["body"])
        item = dynamodb.get_item(
            TableName=DEFAULT_JOBS_TABLE, Key={KEY_ATTRIBUTE: {"S": f"{REPO}/{JOB_ID}"}}
        )
        print(f"\nDynamoDB item {DEFAULT_JOBS_TABLE}[{REPO}/{JOB_ID}]:")
        print(json.dumps(item["Item"], indent=2, ensure_ascii=False))
        return 0 if response["statusCode"] == 200 else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
