"""How collating an upload can fail: permanently (the upload is reported and
counts as done) or transiently (the platform tries again)."""

from __future__ import annotations


class RejectedUpload(Exception):
    """A permanent problem with an upload: retrying cannot help (unless the
    upload is replaced, so its version is kept when it was read)."""

    #: How its report names it; a sweep takes ``rejected`` uploads as done.
    report_status = "rejected"

    def __init__(self, reason: str, *, etag: str | None = None) -> None:
        super().__init__(reason)
        self.etag = etag


class UnsupportedSchema(RejectedUpload):
    """An upload of a schema version this collator does not know (a newer
    app than the deployed collator): nothing of it is written, and its
    report does not count it as done, so the sweep after a deploy that knows
    the version collates it."""

    report_status = "unsupported_schema"


class TransientError(RuntimeError):
    """A failure a later retry can get past: let the platform retry."""


class CommitConflict(TransientError):
    """Other writers kept replacing ``current`` for the whole retry budget."""


class UploadTooLarge(TransientError):
    """Above this function's size limit; the dead-letter collator's is higher."""
