"""The log types the phones send, their schema versions, and the Arrow
schemas of their collated form.

A log type's ``fields`` are its newest schema version's. Each older version
it still accepts is an ``OlderVersion``: the fields that version sent, and
those renamed since; a field whose kind changed converts without loss (the
upload parser refuses any other change). Records of every version are read
into the newest schema, so they land in one ``current``.
"""

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
class OlderVersion:
    number: int
    #: ``(name, kind)`` as that version sent them.
    fields: tuple[tuple[str, str], ...]
    #: ``(name then, name now)`` of the fields renamed since.
    renamed: tuple[tuple[str, str], ...] = ()

    def sources(self, newest: tuple[tuple[str, str], ...]) -> list[tuple[str, str] | None]:
        """Per field of the newest version, what this version sent it as."""
        now = {dict(self.renamed).get(name, name): (name, kind) for name, kind in self.fields}
        return [now.get(name) for name, _ in newest]


@dataclass(frozen=True)
class LogType:
    name: str
    kind: Kind
    #: ``(name, kind)`` with kind one of ``UploadParser.FIELD_KINDS``: the
    #: newest schema version's.
    fields: tuple[tuple[str, str], ...]
    #: Fields that identify a record; empty means one row per device.
    identity: tuple[str, ...]
    #: The field that orders the text output, if any.
    time_field: str | None = None
    #: The newest ``schema_version``, which ``fields`` describe.
    schema_version: int = 1
    #: The older versions still accepted.
    older: tuple[OlderVersion, ...] = ()
    #: False for a log type no spec describes (every field in ``extra``):
    #: any version is taken.
    known: bool = True

    def check_version(self, version: int) -> str | None:
        """Why an upload of ``schema_version`` ``version`` cannot be read,
        or None when it can."""
        if not self.known or version == self.schema_version:
            return None
        if version > self.schema_version:
            return (
                f"schema_version {version} of {self.name} is newer than this collator "
                f"knows ({self.schema_version})"
            )
        known = sorted([self.schema_version, *(v.number for v in self.older)])
        if version not in known:
            return f"schema_version {version} of {self.name} is not one this collator knows {known}"
        return None


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
    return LOG_TYPES.get(name) or LogType(name, Kind.EVENT, (), (), known=False)


@cache
def upload_parser() -> UploadParser:
    """The parser of every upload, built once with the known types' specs
    and their older versions."""
    return UploadParser(
        {t.name: (list(t.fields), list(t.identity)) for t in LOG_TYPES.values()},
        {
            t.name: {v.number: v.sources(t.fields) for v in t.older}
            for t in LOG_TYPES.values()
            if t.older
        },
    )


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
        # The header's app_version of the upload that brought the record.
        ("app_version", REPEATED),
    ]
)


@cache
def parsed_schema(log_type: LogType) -> pa.Schema:
    """The schema of a parsed upload of one log type: its known fields, then
    ``UploadParser.RECORD_COLUMNS``."""
    schema: pa.Schema = upload_parser().schema(log_type.name)
    return schema


def text_columns(log_type: LogType) -> list[str]:
    """The columns of the text file: what the phone sent."""
    return [field for field, _ in log_type.fields] + ["extra"]


@cache
def current_schema(log_type: LogType) -> pa.Schema:
    """The schema of ``current`` for one log type: the phone's fields, then
    ``extra``, then ``PROVENANCE``. Event diffs have the same columns;
    snapshot diffs add a ``change``."""
    parsed = parsed_schema(log_type)
    fields = [parsed.field(name) for name, _ in log_type.fields]
    return pa.schema([*fields, parsed.field("extra"), *PROVENANCE])
