"""Realistic synthetic phone-log uploads, for demos, tests and benchmarks."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from typing import Any

from logsorter.storage import Store

_BASE_MS = 1_700_000_000_000
_DAY_MS = 86_400_000
_WORDS = [
    "credited",
    "debited",
    "OTP",
    "is",
    "your",
    "balance",
    "loan",
    "EMI",
    "due",
    "on",
    "account",
    "ref",
    "UPI",
]
_APPS = ("com.whatsapp", "com.phonepe.app", "net.one97.paytm", "com.google.android.gm")


def sms_record(rng: random.Random, when: int) -> dict[str, Any]:
    body = " ".join(rng.choices(_WORDS, k=rng.randint(4, 12)))
    return {
        "address": rng.choice(("VM-HDFCBK", "AD-PAYTMB", f"+9198{rng.randint(0, 10**8):08d}")),
        "date": when,
        "date_sent": when - rng.randint(0, 5000),
        "type": rng.choice((1, 1, 1, 2)),
        "body": body,
        "read": rng.randint(0, 1),
        "seen": 1,
        "thread_id": rng.randint(1, 400),
        "sub_id": 1,
    }


def _call(rng: random.Random, when: int) -> dict[str, Any]:
    return {
        "number": f"+9197{rng.randint(0, 10**8):08d}",
        "date": when,
        "duration": rng.randint(0, 900),
        "type": rng.randint(1, 6),
        "countryiso": "IN",
    }


def _location(rng: random.Random, when: int) -> dict[str, Any]:
    return {
        "time": when,
        "latitude": round(12.9 + rng.random() / 10, 6),
        "longitude": round(77.5 + rng.random() / 10, 6),
        "accuracy": round(rng.uniform(3, 40), 1),
        "provider": rng.choice(("gps", "network", "fused")),
    }


def _contact(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "lookup_key": f"0r{index}-{rng.randint(0, 99)}",
        "display_name": f"Contact {index}",
        "numbers": [f"+9199{rng.randint(0, 10**8):08d}"],
        "starred": rng.random() < 0.1,
        "last_updated": _BASE_MS - rng.randint(0, 300) * _DAY_MS,
    }


def _app(rng: random.Random, index: int) -> dict[str, Any]:
    package = _APPS[index % len(_APPS)] + ("" if index < len(_APPS) else f".x{index}")
    return {
        "package_name": package,
        "app_name": package.rsplit(".", 1)[-1],
        "version_code": rng.randint(1, 900),
        "first_install_time": _BASE_MS - rng.randint(30, 900) * _DAY_MS,
        "is_system": False,
        "installer": "com.android.vending",
    }


def encode_upload(log_type: str, records: list[dict[str, Any]], collected_at: int) -> str:
    header = {"log_type": log_type, "schema_version": 1, "collected_at": collected_at}
    return "".join(json.dumps(item) + "\n" for item in [header, *records])


def phone_log_uploads(users: int, records: int, seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """``(key, body)`` of uploads: per user one or two devices, each with
    event logs in two uploads that overlap (phones resend recent records) and
    two snapshots of their contacts and apps; a mix of gzip and plain."""
    rng = random.Random(seed)
    makers = {"sms": sms_record, "call_log": _call, "location": _location}
    for user in range(users):
        for device in range(1 + user % 2):
            prefix = f"uploads/users/user{user:04d}/unknown/dev{user:04d}{device}/"
            for log_type, make in makers.items():
                times = sorted(_BASE_MS - rng.randint(0, 30 * _DAY_MS) for _ in range(records))
                batch = [make(rng, when) for when in times]
                half = len(batch) // 2
                # The second upload resends the last quarter of the first.
                parts = (batch[: half + half // 2], batch[half:])
                for part_index, part in enumerate(parts):
                    text = encode_upload(log_type, part, _BASE_MS + part_index * _DAY_MS)
                    gzipped = (part_index + user) % 2 == 0
                    name = f"{log_type}-{part_index}.ndjson" + (".gz" if gzipped else "")
                    yield prefix + name, gzip.compress(text.encode()) if gzipped else text.encode()
            for day in range(2):
                for log_type, make_row in (("contacts", _contact), ("installed_apps", _app)):
                    rows = [make_row(rng, i) for i in range(max(2, records // 10) + day)]
                    text = encode_upload(log_type, rows, _BASE_MS + day * _DAY_MS)
                    yield prefix + f"{log_type}-{day}.ndjson", text.encode()


def write_sample(store: Store, users: int, records: int) -> list[str]:
    keys = []
    for key, body in phone_log_uploads(users, records):
        store.put(key, body)
        keys.append(key)
    return keys
