"""One collation in a process of its own, killed with SIGKILL just before its
N-th write to the store, as the platform kills a function mid-flight:

    cd tests && python -m support.killing_store STORE KEY N

STORE is a directory or ``s3://BUCKET`` (with ``AWS_ENDPOINT_URL`` set). With
N = 0 nothing is killed and the number of writes is printed, so a test can
kill at each one in turn.
"""

from __future__ import annotations

import os
import signal
import sys

from logsorter.cli.collate import open_store
from logsorter.collator import collate_upload
from logsorter.storage import Store

from support.stores import PassThroughStore


class KillingStore(PassThroughStore):
    """SIGKILLs this process just before write N."""

    def __init__(self, inner: Store, kill_at: int) -> None:
        super().__init__(inner)
        self.kill_at = kill_at

    def before_write(self, key: str) -> None:
        if self.writes == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    spec, key, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = KillingStore(open_store(spec), kill_at)
    collate_upload(store, key)
    print(store.writes)


if __name__ == "__main__":
    main()
