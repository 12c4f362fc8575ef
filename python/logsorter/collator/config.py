"""The collator's settings, read from the environment once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from logsorter.limits import ceiling, share_of_memory

MAX_UPLOAD_ENV = "LOGSORTER_MAX_UPLOAD_MB"
UPLOAD_BUCKETS_ENV = "LOGSORTER_UPLOAD_BUCKETS"


@dataclass(frozen=True)
class CollatorConfig:
    #: The dead-letter collator takes what the primary could not.
    dead_letter: bool = False
    #: Uploads above this many bytes, stored or decompressed, are left to the
    #: dead-letter collator (primary) or rejected with a report (dead letter).
    max_upload_bytes: int | None = None
    #: The only buckets events may name; None: any.
    upload_buckets: frozenset[str] | None = None

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
        the only buckets the collator reads and writes."""
        buckets = frozenset(b.strip() for b in environ.get(UPLOAD_BUCKETS_ENV, "").split(","))
        limit = share_of_memory(environ) if dead_letter else ceiling(environ, MAX_UPLOAD_ENV)
        return cls(dead_letter, limit, (buckets - {""}) or None)
