"""Why a job could not be classified, each with the HTTP status it maps to."""

from __future__ import annotations


class ClassifyError(Exception):
    """A failure reported to the caller as one line, never as a traceback."""

    status = 500
    #: Whether trying the same request again later may succeed.
    retryable = False


class BadRequest(ClassifyError):
    status = 400


class LogNotFound(ClassifyError):
    status = 404


class UnreadableLog(ClassifyError):
    """The object exists but is not a log: corrupt or truncated gzip."""

    status = 422


class UpstreamFailure(ClassifyError):
    """S3 or DynamoDB failed even after the client's retries."""

    status = 502
    retryable = True
