"""The collator's settings, read from the environment once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_UPLOAD_ENV = "LOGSORTER_MAX_UPLOAD_MB"
UPLOAD_BUCKETS_ENV = "LOGSORTER_UPLOAD_BUCKETS"
_MIB = 1024 * 1024


@dataclass(frozen=True)
class CollatorConfig:
    #: The dead-letter collator takes what the primary could not.
    dead_letter: bool = False
    #: Uploads above this many bytes are left to the dead-letter collator.
    max_upload_bytes: int | None = None
    #: The only buckets events may name; None: any.
    upload_buckets: frozenset[str] | None = None

    def accepts_bucket(self, bucket: str) -> bool:
        return self.upload_buckets is None or bucket in self.upload_buckets

    @classmethod
    def from_env(
        cls, *, dead_letter: bool, environ: Mapping[str, str] = os.environ
    ) -> CollatorConfig:
        """``LOGSORTER_MAX_UPLOAD_MB`` limits the primary; the dead-letter
        collator has no limit. ``LOGSORTER_UPLOAD_BUCKETS`` (comma-separated
        names), when set, are the only buckets the collator reads and writes."""
        buckets = frozenset(b.strip() for b in environ.get(UPLOAD_BUCKETS_ENV, "").split(","))
        upload_buckets = (buckets - {""}) or None
        limit = environ.get(MAX_UPLOAD_ENV)
        if dead_letter or not limit:
            return cls(dead_letter=dead_letter, upload_buckets=upload_buckets)
        try:
            megabytes = float(limit)
        except ValueError:
            raise ValueError(f"{MAX_UPLOAD_ENV}={limit!r} is not a number of megabytes") from None
        return cls(False, int(megabytes * _MIB), upload_buckets)
