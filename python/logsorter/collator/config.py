"""The collator's settings, read from the environment once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_UPLOAD_ENV = "LOGSORTER_MAX_UPLOAD_MB"
_MIB = 1024 * 1024


@dataclass(frozen=True)
class CollatorConfig:
    #: The dead-letter collator takes what the primary could not.
    dead_letter: bool = False
    #: Uploads above this many bytes are left to the dead-letter collator.
    max_upload_bytes: int | None = None

    @classmethod
    def from_env(
        cls, *, dead_letter: bool, environ: Mapping[str, str] = os.environ
    ) -> CollatorConfig:
        """``LOGSORTER_MAX_UPLOAD_MB`` limits the primary; the dead-letter
        collator has no limit."""
        limit = environ.get(MAX_UPLOAD_ENV)
        if dead_letter or not limit:
            return cls(dead_letter=dead_letter)
        try:
            megabytes = float(limit)
        except ValueError:
            raise ValueError(f"{MAX_UPLOAD_ENV}={limit!r} is not a number of megabytes") from None
        return cls(dead_letter=False, max_upload_bytes=int(megabytes * _MIB))
