"""The log types the phones send, and the Arrow schemas of their collated form."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

import pyarrow as pa

from logsorter._core import UploadParser


class Kind(Enum):
    #: Records accumulate: every upload adds to the device's history.
    EVENT = "event"
    #: Each upload is the device's full state at ``collected_at``.
    SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class LogType:
    name: str
    kind: Kind
    #: ``(name, kind)`` with kind one of ``UploadParser.FIELD_KINDS``.
    fields: tuple[tuple[str, str], ...]
    #: Fields that identify a record; empty means one row per device.
    identity: tuple[str, ...]
    #: The field that orders the text output, if any.
    time_field: str | None = None


def _fields(spec: str) -> tuple[tuple[str, str], ...]:
    pairs = (item.split(":") for item in spec.split())
    return tuple((name, kind) for name, kind in pairs)


LOG_TYPES: dict[str, LogType] = {
    t.name: t
    for t in (
        LogType(
            "sms",
            Kind.EVENT,
            _fields(
                "address:str date:int date_sent:int type:int body:str read:int seen:int"
                " status:int service_center:str sub_id:int thread_id:int"
            ),
            ("address", "type", "date", "body"),
            "date",
        ),
        LogType(
            "call_log",
            Kind.EVENT,
            _fields(
                "number:str date:int duration:int type:int cached_name:str countryiso:str"
                " subscription_id:str"
            ),
            ("number", "type", "date"),
            "date",
        ),
        LogType(
            "location",
            Kind.EVENT,
            _fields("time:int latitude:float longitude:float accuracy:float provider:str"),
            ("time", "latitude", "longitude"),
            "time",
        ),
        LogType(
            "contacts",
            Kind.SNAPSHOT,
            _fields(
                "lookup_key:str display_name:str numbers:str_list starred:bool last_updated:int"
            ),
            ("lookup_key",),
            "last_updated",
        ),
        LogType(
            "installed_apps",
            Kind.SNAPSHOT,
            _fields(
                "package_name:str app_name:str version_name:str version_code:int"
                " first_install_time:int last_update_time:int is_system:bool installer:str"
            ),
            ("package_name",),
            "first_install_time",
        ),
        LogType(
            "device_info",
            Kind.SNAPSHOT,
            _fields(
                "manufacturer:str brand:str model:str sdk_int:int android_id:str ram_total:int"
                " storage_total:int battery_level:int network_type:str sim_operator:str"
                " locale:str timezone:str"
            ),
            (),
        ),
    )
}


def log_type(name: str) -> LogType:
    """The known type, or an event log with every field in ``extra``. The
    name comes from an upload's header, which the parser has validated."""
    return LOG_TYPES.get(name) or LogType(name, Kind.EVENT, (), ())


@cache
def upload_parser() -> UploadParser:
    """The parser of every upload, built once with the known types' specs."""
    return UploadParser({t.name: (list(t.fields), list(t.identity)) for t in LOG_TYPES.values()})


TIMESTAMP = pa.timestamp("ms", tz="UTC")
#: For columns with a few distinct values per file: a million rows of one
#: upload key cost a few megabytes instead of tens.
REPEATED = pa.dictionary(pa.int32(), pa.string())
#: Columns the collator adds to every record, after the phone's fields.
PROVENANCE = pa.schema(
    [
        ("user_id", REPEATED),
        ("device_serial_number", REPEATED),
        ("device_id", REPEATED),
        ("record_key", pa.string()),
        ("content_hash", pa.string()),
        ("first_seen_at", TIMESTAMP),
        ("last_seen_at", TIMESTAMP),
        ("source_key", REPEATED),
    ]
)


@cache
def parsed_schema(log_type: LogType) -> pa.Schema:
    """The schema of a parsed upload of one log type: its known fields, then
    ``UploadParser.RECORD_COLUMNS``."""
    schema: pa.Schema = upload_parser().schema(log_type.name)
    return schema


#: Each record's line in the text file, formatted once (see ``text.py``).
TEXT_LINE = "text_line"


def text_columns(log_type: LogType) -> list[str]:
    """The columns of the text file: what the phone sent."""
    return [field for field, _ in log_type.fields] + ["extra"]


@cache
def current_schema(log_type: LogType) -> pa.Schema:
    """The schema of ``current`` for one log type; diffs have the same
    columns but ``text_line``."""
    parsed = parsed_schema(log_type)
    fields = [parsed.field(name) for name, _ in log_type.fields]
    return pa.schema([*fields, parsed.field("extra"), *PROVENANCE, (TEXT_LINE, pa.string())])
