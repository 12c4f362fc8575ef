"""The phone-log collator: raw uploads under ``uploads/users/`` become, per
device and log type, a current parquet file, daily diffs and a text file, all
under ``collated_logs/`` of the same store.
"""

from logsorter.collator.core import Outcome, collate_upload
from logsorter.collator.keys import RejectedUpload, UploadKey

__all__ = ["Outcome", "RejectedUpload", "UploadKey", "collate_upload"]
