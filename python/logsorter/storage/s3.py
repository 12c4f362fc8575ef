"""A store in an S3 bucket, through a boto3 client: compare-and-swap by
conditional ``PutObject`` (``IfMatch`` / ``IfNoneMatch='*'``), and every
object written encrypted at rest: with the KMS key the store is given
(SSE-KMS), else with S3's own keys (SSE-S3)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import ClientError, ResponseStreamingError

from logsorter.storage.base import Blob, Body, ObjectInfo, Store, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PutObjectRequestTypeDef

#: Error codes meaning the object is not there: GET's ``NoSuchKey``, and the
#: bare status a HEAD answers with (it has no body to carry a code).
MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
#: The client retries a failed request; a body cut off mid-stream is retried here.
READ_ATTEMPTS = 3


class S3Store(Store):
    def __init__(self, client: S3Client, bucket: str, *, kms_key_id: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.kms_key_id = kms_key_id

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as err:
            if _is_missing_object(err):
                return None
            raise
        return ObjectInfo(
            response["ContentLength"], response["ETag"], response["LastModified"].astimezone(UTC)
        )

    def get(self, key: str) -> Blob | None:
        attempts_left = READ_ATTEMPTS
        while True:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            except ClientError as err:
                if _is_missing_object(err):
                    return None
                raise
            try:
                data = response["Body"].read()
            except ResponseStreamingError:
                attempts_left -= 1
                if not attempts_left:
                    raise
                continue
            info = ObjectInfo(len(data), response["ETag"], response["LastModified"].astimezone(UTC))
            return Blob(data, info)

    def put(self, key: str, data: Body | BinaryIO) -> str:
        body = _in_memory(data) if callable(data) else data
        return self.client.put_object(**self._put_request(key, body))["ETag"]

    def put_if(self, key: str, data: Body, etag: str | None) -> str | None:
        data = _in_memory(data) if callable(data) else data
        try:
            request = self._put_request(key, data)
            if etag is None:
                request["IfNoneMatch"] = "*"
            else:
                request["IfMatch"] = etag
            response = self.client.put_object(**request)
        except ClientError as err:
            # 412: the version moved on; 409: a concurrent conditional write
            # to the same key is in flight; 404: the object was deleted
            # (an erasure) since the caller read it. Each time the caller re-reads.
            if _status(err) in (409, 412) or (etag is not None and _is_missing_object(err)):
                return None
            raise
        return response["ETag"]

    def _put_request(self, key: str, body: bytes | BinaryIO) -> PutObjectRequestTypeDef:
        """Every PutObject names its encryption, so no object is written
        unencrypted whatever the bucket's default says."""
        request: PutObjectRequestTypeDef = {
            "Bucket": self.bucket,
            "Key": check_key(key),
            "Body": body,
        }
        if self.kms_key_id:
            request["ServerSideEncryption"] = "aws:kms"
            request["SSEKMSKeyId"] = self.kms_key_id
        else:
            request["ServerSideEncryption"] = "AES256"
        return request

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def list_objects(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                info = ObjectInfo(item["Size"], item["ETag"], item["LastModified"].astimezone(UTC))
                yield item["Key"], info

    def list_folders(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Prefix"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
            for item in page.get("CommonPrefixes", [])
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}"


def _in_memory(write: Callable[[BinaryIO], None]) -> bytes:
    """A writer's body, for a client that sends bytes."""
    sink = io.BytesIO()
    write(sink)
    return sink.getvalue()


def _status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_missing_object(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in MISSING_OBJECT_CODES
