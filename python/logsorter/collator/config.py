"""The collator's settings, read from the environment once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from logsorter.limits import ceiling, share_of_memory

MAX_UPLOAD_ENV = "LOGSORTER_MAX_UPLOAD_MB"
UPLOAD_BUCKETS_ENV = "LOGSORTER_UPLOAD_BUCKETS"
KMS_KEY_ENV = "LOGSORTER_KMS_KEY_ID"


@dataclass(frozen=True)
class CollatorConfig:
    #: The dead-letter collator takes what the primary could not.
    dead_letter: bool = False
    #: Uploads above this many bytes, stored or decompressed, are left to the
    #: dead-letter collator (primary) or rejected with a report (dead letter).
    max_upload_bytes: int | None = None
    #: The only buckets events may name; None: any.
    upload_buckets: frozenset[str] | None = None
    #: The KMS key every object written to S3 is encrypted with (SSE-KMS);
    #: None: S3's own keys (SSE-S3).
    kms_key_id: str | None = None

    def accepts_bucket(self, bucket: str) -> bool:
        return self.upload_buckets is None or bucket in self.upload_buckets

    @classmethod
    def from_env(
        cls, *, dead_letter: bool, environ: Mapping[str, str] = os.environ
    ) -> CollatorConfig:
        """``LOGSORTER_MAX_UPLOAD_MB`` limits the primary (default: a quarter
        of the function's memory); the dead-letter collator, with more memory,
        takes up to a quarter of its own (no limit outside Lambda).
        ``LOGSORTER_UPLOAD_BUCKETS`` (comma-separated names), when set, are
        the only buckets the collator reads and writes. ``LOGSORTER_KMS_KEY_ID``
        (a key id, alias or ARN), when set, encrypts what it writes with that key."""
        buckets = frozenset(b.strip() for b in environ.get(UPLOAD_BUCKETS_ENV, "").split(","))
        limit = share_of_memory(environ) if dead_letter else ceiling(environ, MAX_UPLOAD_ENV)
        kms_key_id = environ.get(KMS_KEY_ENV, "").strip() or None
        return cls(dead_letter, limit, (buckets - {""}) or None, kms_key_id)
