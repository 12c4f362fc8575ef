"""Why a job could not be classified, each with the HTTP status it maps to
and whether trying again may help: batches redeliver only what may."""

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


class JobNotInTable(ClassifyError):
    """The jobs table has no item for the job, and creating one is not
    enabled (``LOGSORTER_CREATE_MISSING_JOBS``)."""

    status = 404


class UnreadableLog(ClassifyError):
    """The object exists but is not a log: corrupt or truncated gzip."""

    status = 422


class LogTooLarge(ClassifyError):
    """The log is above the function's ceiling once decompressed."""

    status = 413


class UpstreamFailure(ClassifyError):
    """S3 or DynamoDB failed even after the client's retries."""

    status = 502
    retryable = True


class RejectedWrite(UpstreamFailure):
    """DynamoDB refused the write itself (a ``ValidationException``, such as an
    item over its size limit): the same write would be refused again."""

    retryable = False


class DeadlineExceeded(ClassifyError):
    """The invocation's time ran out before the job was classified."""

    status = 504
    retryable = True


class RetryableRecords(ClassifyError):
    """Some records of a batch failed for reasons that may pass: raised once
    every record is done, so that the whole event is tried again."""

    retryable = True
