"""The phone-log collator: raw uploads under ``uploads/users/`` become, per
device and log type, a current parquet file, daily diffs and a text file, all
under ``collated_logs/`` of the same store.

``app`` is the Lambda side (``events`` finds the uploads in an event,
``config`` reads the environment once); ``collate`` handles one upload:
``records`` reads and parses it, ``apply`` merges it (``merge``: the table
operations) into ``current`` (``current``: the file format and parquet
policy), ``commit`` writes it crash-safely and ``publish`` publishes the
diffs and text, completing whatever a crash left half done; ``rebuild``
recomputes a device's logs (or an unreadable ``current``) from its uploads;
``forget`` erases a user or device behind a tombstone (``tombstones``) that
collating respects. ``text``
renders the text file and ``reports`` the error reports; ``errors`` are the
ways collating fails. ``schema`` holds the log types, ``keys`` every key the
collator reads or writes, ``discovery`` the store-wide sweep of the command
line, ``sample`` synthetic uploads.
"""

from logsorter.collator.collate import Outcome, collate_upload
from logsorter.collator.errors import RejectedUpload
from logsorter.collator.keys import UploadKey

__all__ = ["Outcome", "RejectedUpload", "UploadKey", "collate_upload"]
