//! Phone-log uploads: NDJSON (plain or gzip) whose first line is a header and
//! every other line one record. This module turns an upload into Arrow
//! columns of a fixed layout: known fields type-checked and normalised, every
//! other field kept as canonical JSON in `extra`, and each record's identity
//! hashed into `record_key`. Records that repeat an identity already seen in
//! the same upload are dropped here, and records that cannot be accepted are
//! reported with their line numbers instead of failing the whole upload.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use blake2::digest::consts::U16;
use blake2::{Blake2b, Digest};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::collate::columns::{self, Column, FieldKind};
use crate::config::threads;
use crate::decode::decompress;
use crate::error::{Error, Result};

const BOM: &str = "\u{feff}";
/// Hex digits of the BLAKE2b-128 record keys and content hashes: 128 bits
/// make collisions negligible for any number of records a device can send.
const HASH_HEX_LEN: usize = 32;
/// Below this many lines per thread, spawning costs more than it saves.
const MIN_CHUNK: usize = 2048;
/// Lines cleaned at a time: enough to keep every core busy, few enough that a
/// batch's cleaned records are small next to the upload (an upload of tiny
/// lines has tens of millions of them).
const BATCH_LINES: usize = 64 * 1024;

/// The columns every parsed upload has after its known fields, in order.
pub const RECORD_COLUMNS: [(&str, FieldKind); 4] = [
    // Canonical JSON of the fields the log type does not name; null if none.
    ("extra", FieldKind::Str),
    // Hash of the record's identity: equal for the same record sent again.
    ("record_key", FieldKind::Str),
    // Hash of the record's content: tells a changed record from the same one.
    ("content_hash", FieldKind::Str),
    // The record's 1-based line in the upload.
    ("line_num", FieldKind::Int),
];

impl FieldKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Int => "an integer",
            Self::Float => "a number",
            Self::Str => "a string",
            Self::Bool => "a boolean or 0/1",
            Self::StrList => "a list of strings",
        }
    }

    /// The value in the form its column holds, or the value back when it has
    /// the wrong type. `null` is accepted for every kind.
    fn normalise(self, value: Value) -> std::result::Result<Value, Value> {
        let ok = match (self, &value) {
            (_, Value::Null) => true,
            (Self::Int, Value::Number(n)) => n.is_i64(),
            (Self::Float, Value::Number(_)) | (Self::Str, Value::String(_)) => true,
            (Self::Bool, Value::Bool(_)) => true,
            (Self::Bool, Value::Number(n)) => {
                return match n.as_i64() {
                    Some(0) => Ok(Value::Bool(false)),
                    Some(1) => Ok(Value::Bool(true)),
                    _ => Err(value),
                }
            }
            (Self::StrList, Value::Array(items)) => items.iter().all(Value::is_string),
            _ => false,
        };
        if ok {
            Ok(value)
        } else {
            Err(value)
        }
    }
}

impl FieldKind {
    /// Whether a value of this kind converts to `to` without losing
    /// anything: the same kind, or a number or boolean written as a string,
    /// or a boolean as 0/1.
    pub fn converts_losslessly_to(self, to: Self) -> bool {
        self == to
            || matches!(
                (self, to),
                (Self::Int | Self::Float | Self::Bool, Self::Str) | (Self::Bool, Self::Int)
            )
    }

    /// `value` (normalised for this kind) as a value of kind `to`, which
    /// `converts_losslessly_to` allows.
    fn convert(self, to: Self, value: Value) -> Value {
        match (self, to, value) {
            (Self::Int | Self::Float, Self::Str, Value::Number(n)) => Value::String(n.to_string()),
            (Self::Bool, Self::Str, Value::Bool(b)) => Value::String(b.to_string()),
            (Self::Bool, Self::Int, Value::Bool(b)) => Value::from(i64::from(b)),
            (_, _, value) => value,
        }
    }
}

/// A value that `FieldKind::normalise` accepted for `kind`, as its column
/// takes it (`items` holds a list's strings).
fn column_value<'a>(
    kind: FieldKind,
    value: &'a Value,
    items: &'a mut Vec<&'a str>,
) -> columns::Value<'a> {
    match (kind, value) {
        (FieldKind::Int, Value::Number(n)) => {
            n.as_i64().map_or(columns::Value::Null, columns::Value::Int)
        }
        (FieldKind::Float, Value::Number(n)) => n
            .as_f64()
            .map_or(columns::Value::Null, columns::Value::Float),
        (FieldKind::Bool, Value::Bool(b)) => columns::Value::Bool(*b),
        (FieldKind::Str, Value::String(text)) => columns::Value::Str(text),
        (FieldKind::StrList, Value::Array(list)) => {
            items.extend(list.iter().filter_map(Value::as_str));
            columns::Value::StrList(items)
        }
        _ => columns::Value::Null,
    }
}

/// How the records of one log type are checked and identified.
#[derive(Debug, Clone, Default)]
pub struct LogSpec {
    /// The fields of the newest schema version, which every version's
    /// records are parsed into.
    pub fields: Vec<(String, FieldKind)>,
    /// Fields whose values identify a record; empty means one record per
    /// device (the whole log is a single row).
    pub identity: Vec<String>,
    /// Older schema versions: for each field of `fields`, in order, the
    /// name and kind that version sent it with (`None`: it did not have
    /// it). A version not listed is read with `fields` as they are.
    pub versions: BTreeMap<i64, Vec<Option<(String, FieldKind)>>>,
}

/// The schema version of an upload whose header names none.
pub const FIRST_SCHEMA_VERSION: i64 = 1;

/// Where a field of the newest schema comes from in one version's record.
type Source<'a> = Option<(&'a str, FieldKind)>;

impl LogSpec {
    /// Per field of `fields`, its source in a record of `version`.
    fn sources(&self, version: i64) -> Vec<Source<'_>> {
        match self.versions.get(&version) {
            Some(older) => older
                .iter()
                .map(|source| source.as_ref().map(|(name, kind)| (name.as_str(), *kind)))
                .collect(),
            None => self
                .fields
                .iter()
                .map(|(name, kind)| Some((name.as_str(), *kind)))
                .collect(),
        }
    }
}

/// The first line of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub log_type: String,
    pub collected_at: Option<i64>,
    /// 1 or more, when the header names it.
    pub schema_version: Option<i64>,
    /// The phone app's version, as it names itself.
    pub app_version: Option<String>,
}

/// The longest `app_version` a header may carry.
const MAX_APP_VERSION: usize = 128;

/// A line that was not collated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line_num: usize,
    pub reason: String,
}

/// The rejected lines of an upload, held compactly: 64 MB of tiny bad lines
/// are twenty million rejections, nearly all for a few reasons. Each reason
/// is stored once, and consecutive lines rejected for the same reason as one
/// run, so that the list stays small next to the upload.
#[derive(Debug, Default)]
pub struct RejectedLines {
    runs: Vec<RejectedRun>,
    /// Shared with `reason_ids`: a reason can name a field of the record, so
    /// there may be as many as lines.
    reasons: Vec<Arc<str>>,
    reason_ids: HashMap<Arc<str>, u32>,
    len: usize,
}

#[derive(Debug)]
struct RejectedRun {
    /// How many rejected lines come before the run.
    position: usize,
    first_line: usize,
    count: usize,
    reason: u32,
}

impl RejectedLines {
    fn push(&mut self, Rejected { line_num, reason }: Rejected) {
        let id = match self.reason_ids.get(reason.as_str()) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.reasons.len())
                    .expect("fewer than 2^32 reasons: each is a line of the upload");
                let reason: Arc<str> = reason.into();
                self.reasons.push(Arc::clone(&reason));
                self.reason_ids.insert(reason, id);
                id
            }
        };
        self.len += 1;
        if let Some(run) = self.runs.last_mut() {
            if run.reason == id && run.first_line + run.count == line_num {
                run.count += 1;
                return;
            }
        }
        self.runs.push(RejectedRun {
            position: self.len - 1,
            first_line: line_num,
            count: 1,
            reason: id,
        });
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `index`-th rejected line (in line order) and its reason.
    pub fn get(&self, index: usize) -> Option<(usize, &str)> {
        let run = &self.runs[self
            .runs
            .partition_point(|run| run.position <= index)
            .checked_sub(1)?];
        let offset = index - run.position;
        (offset < run.count).then(|| (run.first_line + offset, &*self.reasons[run.reason as usize]))
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, &str)> {
        self.runs.iter().flat_map(|run| {
            let reason = &*self.reasons[run.reason as usize];
            (run.first_line..run.first_line + run.count).map(move |line| (line, reason))
        })
    }
}

#[derive(Debug)]
pub struct Parsed {
    pub header: Header,
    /// The known fields of the log type, then `RECORD_COLUMNS`; one row per
    /// accepted record, in line order.
    pub columns: Vec<Column>,
    pub records: usize,
    /// Records dropped because an earlier line of the upload had the same identity.
    pub duplicates: usize,
    pub rejected: RejectedLines,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedUpload(reason.into())
}

/// Parses uploads with the specs of the known log types, given once.
#[derive(Debug, Clone, Default)]
pub struct UploadParser {
    specs: BTreeMap<String, LogSpec>,
    /// Any other valid log type: every field in `extra`, the whole record as
    /// its identity.
    generic: LogSpec,
}

impl UploadParser {
    pub fn new(specs: BTreeMap<String, LogSpec>) -> Self {
        Self {
            specs,
            generic: LogSpec::default(),
        }
    }

    fn spec(&self, log_type: &str) -> (&LogSpec, bool) {
        match self.specs.get(log_type) {
            Some(spec) => (spec, true),
            None => (&self.generic, false),
        }
    }

    /// The columns a parsed upload of `log_type` has, in order.
    pub fn columns(&self, log_type: &str) -> Vec<(&str, FieldKind)> {
        let (spec, _) = self.spec(log_type);
        spec.fields
            .iter()
            .map(|(name, kind)| (name.as_str(), *kind))
            .chain(RECORD_COLUMNS)
            .collect()
    }

    /// Parses an upload of at most `limit` bytes once decompressed (`None`:
    /// no ceiling).
    pub fn parse(&self, data: &[u8], limit: Option<usize>) -> Result<Parsed> {
        let bytes = decompress(data, limit).map_err(|err| match err {
            Error::Gzip(_) => malformed(err.to_string()),
            other => other,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix(BOM).unwrap_or(&text);
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty());

        let Some((header_line, header_text)) = lines.next() else {
            return Err(malformed("the upload is empty (no header line)"));
        };
        let header = parse_header(header_line, header_text)?;
        let (spec, known) = self.spec(&header.log_type);
        let sources = spec.sources(header.schema_version.unwrap_or(FIRST_SCHEMA_VERSION));
        let mut columns: Vec<Column> = self
            .columns(&header.log_type)
            .into_iter()
            .map(|(name, kind)| Column::new(name, kind))
            .collect();
        let (mut records, mut duplicates) = (0, 0);
        let mut rejected = RejectedLines::default();
        let mut seen = HashSet::new();
        let mut batch: Vec<(usize, &str)> = Vec::with_capacity(BATCH_LINES);
        loop {
            batch.clear();
            batch.extend(lines.by_ref().take(BATCH_LINES));
            if batch.is_empty() {
                break;
            }
            for item in clean_batch(&batch, spec, &sources, known) {
                match item {
                    Cleaned::Record(record) => {
                        if seen.insert(record.key) {
                            record.push_into(&mut columns)?;
                            records += 1;
                        } else {
                            duplicates += 1;
                        }
                    }
                    Cleaned::Rejected(line) => rejected.push(line),
                }
            }
        }
        Ok(Parsed {
            header,
            columns,
            records,
            duplicates,
            rejected,
        })
    }
}

fn is_valid_log_type(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Records are independent, so chunks of a batch are cleaned on all cores;
/// the results come back in line order for the in-upload dedupe.
fn clean_batch(
    lines: &[(usize, &str)],
    spec: &LogSpec,
    sources: &[Source<'_>],
    known: bool,
) -> Vec<Cleaned> {
    let chunk_len = lines.len().div_ceil(threads()).max(MIN_CHUNK);
    std::thread::scope(|scope| {
        let workers: Vec<_> = lines
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(move || clean_chunk(chunk, spec, sources, known)))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a record cleaner panicked"))
            .collect()
    })
}

fn parse_header(line_num: usize, line: &str) -> Result<Header> {
    let value = parse_json(line).map_err(|err| match err {
        JsonError::DuplicateField(name) => malformed(format!(
            "header (line {line_num}) has a duplicate field {name:?}"
        )),
        JsonError::Invalid(err) => {
            malformed(format!("header (line {line_num}) is not valid JSON: {err}"))
        }
    })?;
    let Value::Object(fields) = value else {
        return Err(malformed(format!(
            "header (line {line_num}) is not a JSON object"
        )));
    };
    let log_type = match fields.get("log_type") {
        Some(Value::String(name)) if is_valid_log_type(name) => name.clone(),
        Some(Value::String(name)) => {
            return Err(malformed(format!(
                "log_type {name:?} is not 1-64 of [a-z0-9_]"
            )))
        }
        Some(_) => return Err(malformed("log_type must be a string")),
        None => {
            return Err(malformed(format!(
                "header (line {line_num}) has no log_type"
            )))
        }
    };
    let collected_at = match fields.get("collected_at") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
        Some(_) => return Err(malformed("header field collected_at must be an integer")),
    };
    let schema_version = match fields.get("schema_version") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v >= 1) => n.as_i64(),
        Some(_) => {
            return Err(malformed(
                "header field schema_version must be an integer of 1 or more",
            ))
        }
    };
    let app_version = match fields.get("app_version") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.len() <= MAX_APP_VERSION => Some(text.clone()),
        Some(_) => {
            return Err(malformed(format!(
                "header field app_version must be a string of at most {MAX_APP_VERSION} bytes"
            )))
        }
    };
    Ok(Header {
        log_type,
        collected_at,
        schema_version,
        app_version,
    })
}

/// Why a line is not JSON that an upload may hold.
enum JsonError {
    /// An object names a field twice: `Value` would silently keep the last,
    /// and which of the two the phone meant cannot be known.
    DuplicateField(String),
    Invalid(serde_json::Error),
}

/// Parses one line of JSON, rejecting objects that repeat a field at any
/// depth.
fn parse_json(line: &str) -> std::result::Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let parsed = UniqueFields {
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|err| match duplicate.into_inner() {
        Some(name) => JsonError::DuplicateField(name),
        None => JsonError::Invalid(err),
    })
}

/// Builds a `Value` as its own `Deserialize` does, but stops at the first
/// field an object repeats and leaves its name in `duplicate`.
#[derive(Clone, Copy)]
struct UniqueFields<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for UniqueFields<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueFields<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> std::result::Result<Value, E> {
        Ok(value.into())
    }

    fn visit_u64<E>(self, value: u64) -> std::result::Result<Value, E> {
        Ok(value.into())
    }

    fn visit_f64<E>(self, value: f64) -> std::result::Result<Value, E> {
        Ok(value.into())
    }

    fn visit_str<E>(self, value: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> std::result::Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if fields.contains_key(&name) {
                *self.duplicate.borrow_mut() = Some(name);
                return Err(de::Error::custom("duplicate field"));
            }
            let value = map.next_value_seed(self)?;
            fields.insert(name, value);
        }
        Ok(Value::Object(fields))
    }
}

/// A record's identity or content, hashed.
type RecordHash = [u8; HASH_HEX_LEN / 2];

/// An accepted record, before the in-upload dedupe.
struct CleanRecord {
    key: RecordHash,
    /// The known fields' values in the spec's order; `Null` when absent.
    values: Vec<Value>,
    extra: Option<String>,
    content_hash: RecordHash,
    line_num: usize,
}

impl CleanRecord {
    /// Appends the record as one row of `columns` (the known fields, then
    /// `RECORD_COLUMNS`).
    fn push_into(self, columns: &mut [Column]) -> Result<()> {
        let (known, record) = columns.split_at_mut(self.values.len());
        for (column, value) in known.iter_mut().zip(&self.values) {
            let mut items = Vec::new();
            column.push(column_value(column.kind, value, &mut items))?;
        }
        let line_num = i64::try_from(self.line_num).map_err(|_| malformed("too many lines"))?;
        let extra = self
            .extra
            .as_deref()
            .map_or(columns::Value::Null, columns::Value::Str);
        let [extra_column, key_column, hash_column, line_column] = record else {
            unreachable!("every parsed upload has the RECORD_COLUMNS")
        };
        extra_column.push(extra)?;
        key_column.push(columns::Value::Str(&hex(&self.key)))?;
        hash_column.push(columns::Value::Str(&hex(&self.content_hash)))?;
        line_column.push(columns::Value::Int(line_num))
    }
}

enum Cleaned {
    Record(CleanRecord),
    Rejected(Rejected),
}

fn clean_chunk(
    lines: &[(usize, &str)],
    spec: &LogSpec,
    sources: &[Source<'_>],
    known: bool,
) -> Vec<Cleaned> {
    lines
        .iter()
        .map(
            |&(line_num, line)| match clean_record(line_num, line, spec, sources, known) {
                Ok(record) => Cleaned::Record(record),
                Err(reason) => Cleaned::Rejected(Rejected { line_num, reason }),
            },
        )
        .collect()
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &impl serde::Serialize) {
    out.push(if out.is_empty() { b'{' } else { b',' });
    write_json(name, out);
    out.push(b':');
    write_json(value, out);
}

/// `sources` says where each field of `spec` is in this record's schema
/// version; values are converted to the newest kinds before the identity
/// and content are hashed, so a record sent again in a newer version is the
/// same record.
fn clean_record(
    line_num: usize,
    line: &str,
    spec: &LogSpec,
    sources: &[Source<'_>],
    known_type: bool,
) -> std::result::Result<CleanRecord, String> {
    let value = parse_json(line).map_err(|err| match err {
        JsonError::DuplicateField(name) => format!("duplicate field {name:?}"),
        JsonError::Invalid(err) => format!("invalid JSON: {err}"),
    })?;
    let Value::Object(mut fields) = value else {
        return Err("not a JSON object".into());
    };
    let mut values = Vec::with_capacity(spec.fields.len());
    // The known fields present, as JSON in the spec's order: what the
    // content hash covers (a field sent as null counts; an absent one not).
    let mut written = Vec::with_capacity(line.len());
    for ((name, kind), source) in spec.fields.iter().zip(sources) {
        let Some(value) = source.and_then(|(sent_as, _)| fields.remove(sent_as)) else {
            values.push(Value::Null);
            continue;
        };
        let (sent_as, sent_kind) = source.expect("a value was taken from its source");
        let value = sent_kind.normalise(value).map_err(|value| {
            format!(
                "field {sent_as:?} must be {}, got {}",
                sent_kind.describe(),
                json_type(&value)
            )
        })?;
        let value = sent_kind.convert(*kind, value);
        push_field(&mut written, name, &value);
        values.push(value);
    }
    let extra = (!fields.is_empty()).then(|| canonical_json(&Value::Object(fields)));

    let key = if known_type {
        let mut text = vec![b'['];
        for (i, name) in spec.identity.iter().enumerate() {
            let position = spec.fields.iter().position(|(field, _)| field == name);
            match position.map(|at| &values[at]) {
                Some(value) if !value.is_null() => {
                    if i > 0 {
                        text.push(b',');
                    }
                    write_canonical(value, &mut text);
                }
                _ => return Err(format!("missing identity field {name:?}")),
            }
        }
        text.push(b']');
        short_hash(&[&text])
    } else {
        // The whole record, hashed without a copy of what may be megabytes.
        short_hash(&[extra.as_deref().unwrap_or("{}").as_bytes()])
    };
    // Equal records give equal bytes: the known fields as written (values
    // canonical) plus the extras.
    let content_hash = short_hash(&[&written, extra.as_deref().unwrap_or("").as_bytes()]);
    Ok(CleanRecord {
        key,
        values,
        extra,
        content_hash,
        line_num,
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a fraction",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// BLAKE2b with a 128-bit digest (Python's `hashlib.blake2b(digest_size=16)`),
/// not SHA-256: without SHA instructions, common on cloud CPUs, SHA-256 made
/// hashing two digests per record a third of an upload's parse.
fn short_hash(parts: &[&[u8]]) -> RecordHash {
    let mut hasher = Blake2b::<U16>::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The hash as its column holds it: lowercase hex.
fn hex(hash: &RecordHash) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(HASH_HEX_LEN);
    for byte in hash {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// Compact JSON with object keys sorted at every level, so equal records give
/// equal text whatever order the phone wrote their fields in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes straight into `out`: a string value can be most of a record of
/// megabytes, and a copy of it per level would double the parse's memory.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(fields) => {
            let mut names: Vec<&String> = fields.keys().collect();
            names.sort();
            out.push(b'{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(name, out);
                out.push(b':');
                write_canonical(&fields[name], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("in-memory JSON");
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_the_blake2b_128_python_computes() {
        // hashlib.blake2b(b"abc", digest_size=16).hexdigest()
        assert_eq!(
            hex(&short_hash(&[b"a", b"bc"])),
            "cf4ab791c62b8d2b2109c90275287816"
        );
    }

    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn sms_specs() -> BTreeMap<String, LogSpec> {
        let fields = [
            ("address", FieldKind::Str),
            ("date", FieldKind::Int),
            ("type", FieldKind::Int),
            ("body", FieldKind::Str),
            ("read", FieldKind::Bool),
        ];
        let spec = LogSpec {
            fields: fields.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect(),
            identity: ["address", "type", "date", "body"]
                .iter()
                .map(|n| (*n).to_owned())
                .collect(),
            versions: BTreeMap::new(),
        };
        BTreeMap::from([("sms".to_owned(), spec)])
    }

    /// sms at version 2: `type` became a string, `body` was `text` in
    /// version 1 and `read` did not exist.
    fn versioned_sms_specs() -> BTreeMap<String, LogSpec> {
        let mut specs = sms_specs();
        let spec = specs.get_mut("sms").unwrap();
        spec.fields[2].1 = FieldKind::Str;
        let old = |name: &str, kind| Some((name.to_owned(), kind));
        spec.versions.insert(
            1,
            vec![
                old("address", FieldKind::Str),
                old("date", FieldKind::Int),
                old("type", FieldKind::Int),
                old("text", FieldKind::Str),
                None,
            ],
        );
        specs
    }

    #[test]
    fn every_schema_version_parses_into_the_newest_with_the_same_identity() {
        let v1 = "{\"log_type\":\"sms\",\"schema_version\":1,\"app_version\":\"3.1\"}\n\
                  {\"address\":\"a\",\"date\":1,\"type\":2,\"text\":\"x\",\"read\":1}\n";
        let v2 = "{\"log_type\":\"sms\",\"schema_version\":2}\n\
                  {\"address\":\"a\",\"date\":1,\"type\":\"2\",\"body\":\"x\"}\n";
        let specs = versioned_sms_specs();
        let old = parse(v1.as_bytes(), &specs).unwrap();
        let new = parse(v2.as_bytes(), &specs).unwrap();
        assert_eq!(old.header.schema_version, Some(1));
        assert_eq!(old.header.app_version.as_deref(), Some("3.1"));
        let (old_row, new_row) = (&records(&old)[0], &records(&new)[0]);
        assert_eq!(old_row["type"], Value::String("2".into()));
        assert_eq!(old_row["body"], Value::String("x".into()));
        // `read` is not version 1's: it is kept, as any unknown field is.
        assert_eq!(old_row["extra"], Value::String(r#"{"read":1}"#.into()));
        assert_eq!(old_row["record_key"], new_row["record_key"]);
        // A version-1 record with a version-2 type is wrong for its version.
        let wrong = v1.replace("\"type\":2", "\"type\":\"2\"");
        let rejected = parse(wrong.as_bytes(), &specs).unwrap().rejected;
        assert_eq!(
            rejected.get(0).map(|(_, reason)| reason.to_owned()),
            Some("field \"type\" must be an integer, got a string".to_owned())
        );
    }

    #[test]
    fn a_header_schema_version_or_app_version_of_the_wrong_type_is_malformed() {
        for header in [
            r#"{"log_type":"sms","schema_version":0}"#,
            r#"{"log_type":"sms","schema_version":"2"}"#,
            r#"{"log_type":"sms","app_version":3}"#,
        ] {
            assert!(matches!(
                parse(header.as_bytes(), &sms_specs()),
                Err(Error::MalformedUpload(_))
            ));
        }
    }

    fn parse(data: &[u8], specs: &BTreeMap<String, LogSpec>) -> Result<Parsed> {
        UploadParser::new(specs.clone()).parse(data, None)
    }

    fn cell(column: &Column, row: usize) -> Value {
        let valid = column.validity.bitmap().map_or(true, |bits| {
            bits.as_bytes()[row / 8] & (1 << (row % 8)) != 0
        });
        let text = |strings: &columns::Strings, at: usize| {
            let offsets = strings.offsets();
            let bytes = &strings.data()[offsets[at] as usize..offsets[at + 1] as usize];
            Value::String(std::str::from_utf8(bytes).unwrap().to_owned())
        };
        match &column.values {
            _ if !valid => Value::Null,
            columns::Values::Int(values) => values[row].into(),
            columns::Values::Float(values) => values[row].into(),
            columns::Values::Bool(bits) => {
                (bits.as_bytes()[row / 8] & (1 << (row % 8)) != 0).into()
            }
            columns::Values::Str(strings) => text(strings, row),
            columns::Values::StrList { offsets, items } => (offsets[row] as usize
                ..offsets[row + 1] as usize)
                .map(|at| text(items, at))
                .collect(),
        }
    }

    /// The parsed rows, each as the map of its columns' values.
    fn records(parsed: &Parsed) -> Vec<serde_json::Map<String, Value>> {
        (0..parsed.records)
            .map(|row| {
                parsed
                    .columns
                    .iter()
                    .map(|column| (column.name.clone(), cell(column, row)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_column_has_one_row_per_record() {
        let text = format!("{HEADER}\n{{\"address\":\"a\",\"date\":1,\"type\":1,\"body\":\"x\"}}\n{{\"address\":\"b\",\"date\":2,\"type\":1,\"body\":\"y\",\"read\":0,\"z\":[1]}}\n");
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        let names: Vec<_> = parsed.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "address",
                "date",
                "type",
                "body",
                "read",
                "extra",
                "record_key",
                "content_hash",
                "line_num"
            ]
        );
        assert!(parsed.columns.iter().all(|c| c.len() == 2));
        let rows = records(&parsed);
        assert_eq!(rows[0]["read"], Value::Null);
        assert_eq!(rows[1]["read"], Value::Bool(false));
        assert_eq!(rows[1]["extra"], Value::String(r#"{"z":[1]}"#.into()));
        assert_eq!(rows[1]["line_num"], 3);
    }

    const HEADER: &str = r#"{"log_type":"sms","collected_at":1700000000000}"#;

    #[test]
    fn bom_crlf_and_blank_lines_keep_line_numbers() {
        let text = format!("\u{feff}{HEADER}\r\n\r\n{{\"address\":\"a\",\"date\":1,\"type\":1,\"body\":\"x\"}}\r\n  \n{{\"address\":\"b\",\"date\":2,\"type\":1,\"body\":\"y\"}}");
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        let header = parsed.header.clone();
        assert_eq!(
            (header.log_type.as_str(), header.collected_at),
            ("sms", Some(1700000000000))
        );
        let lines: Vec<_> = records(&parsed)
            .iter()
            .map(|r| r["line_num"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, [3, 5]);
    }

    #[test]
    fn gzip_is_read_and_field_order_does_not_change_the_key() {
        let text = format!("{HEADER}\n{{\"address\":\"a\",\"date\":1,\"type\":1,\"body\":\"x\",\"z\":1,\"k\":2}}\n");
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        let first = records(&parse(&enc.finish().unwrap(), &sms_specs()).unwrap());
        let swapped = format!("{HEADER}\n{{\"k\":2,\"body\":\"x\",\"type\":1,\"z\":1,\"date\":1,\"address\":\"a\"}}\n");
        let second = records(&parse(swapped.as_bytes(), &sms_specs()).unwrap());
        assert_eq!(first[0]["record_key"], second[0]["record_key"]);
        assert_eq!(first[0]["content_hash"], second[0]["content_hash"]);
        assert_eq!(first[0]["extra"], Value::String(r#"{"k":2,"z":1}"#.into()));
    }

    #[test]
    fn repeated_identity_keeps_the_first_line() {
        let line = r#"{"address":"a","date":1,"type":1,"body":"x"}"#;
        let other = r#"{"address":"a","date":1,"type":1,"body":"x","read":1}"#;
        let parsed = parse(
            format!("{HEADER}\n{line}\n{other}\n").as_bytes(),
            &sms_specs(),
        )
        .unwrap();
        assert_eq!((parsed.records, parsed.duplicates), (1, 1));
        assert_eq!(records(&parsed)[0]["line_num"], 2);
    }

    #[test]
    fn bad_records_are_rejected_alone_with_their_line() {
        let text = format!(
            "{HEADER}\n[1,2]\n{{\"address\":\"a\",\"date\":\"soon\",\"type\":1,\"body\":\"x\"}}\nnot json\n{{\"date\":1,\"type\":1,\"body\":\"x\"}}\n{{\"address\":\"a\",\"date\":1,\"type\":1,\"body\":\"x\",\"read\":1}}\n"
        );
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        assert_eq!(parsed.records, 1);
        let reasons: Vec<_> = parsed.rejected.iter().collect();
        assert_eq!(reasons[0], (2, "not a JSON object"));
        assert_eq!(
            reasons[1],
            (3, "field \"date\" must be an integer, got a string")
        );
        assert_eq!(reasons[2].0, 4);
        assert!(reasons[2].1.starts_with("invalid JSON"));
        assert_eq!(reasons[3], (5, "missing identity field \"address\""));
        assert_eq!(records(&parsed)[0]["read"], Value::Bool(true));
    }

    #[test]
    fn unknown_log_type_keeps_everything_in_extra() {
        let text = "{\"log_type\":\"wifi_scan\"}\n{\"ssid\":\"home\",\"level\":-40}\n{\"level\":-40,\"ssid\":\"home\"}\n";
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        assert_eq!((parsed.records, parsed.duplicates), (1, 1));
        assert_eq!(
            records(&parsed)[0]["extra"],
            Value::String(r#"{"level":-40,"ssid":"home"}"#.into())
        );
    }

    #[test]
    fn whole_upload_problems_are_errors() {
        let specs = sms_specs();
        let reason = |data: &[u8]| parse(data, &specs).unwrap_err().to_string();
        assert_eq!(
            reason(b"\n\r\n"),
            "malformed upload: the upload is empty (no header line)"
        );
        assert!(reason(b"\x00\x01binary").contains("is not valid JSON"));
        assert_eq!(
            reason(b"{\"collected_at\":1}\n"),
            "malformed upload: header (line 1) has no log_type"
        );
        assert!(reason(b"{\"log_type\":\"../etc\"}\n").contains("is not 1-64 of [a-z0-9_]"));
        assert_eq!(
            reason(b"[]\n"),
            "malformed upload: header (line 1) is not a JSON object"
        );
    }

    #[test]
    fn a_record_that_repeats_a_field_at_any_depth_is_rejected() {
        let text = format!(
            "{HEADER}\n{{\"address\":\"a\",\"date\":1,\"type\":1,\"body\":\"x\",\"date\":2}}\n{{\"address\":\"b\",\"date\":1,\"type\":1,\"body\":\"x\",\"z\":[{{\"k\":1,\"k\":1}}]}}\n{{\"address\":\"c\",\"date\":1,\"type\":1,\"body\":\"x\",\"z\":{{\"k\":1,\"j\":{{\"k\":2}}}}}}\n"
        );
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        let reasons: Vec<_> = parsed.rejected.iter().collect();
        assert_eq!(
            reasons,
            [
                (2, "duplicate field \"date\""),
                (3, "duplicate field \"k\"")
            ]
        );
        assert_eq!(
            parsed.records, 1,
            "the same name at different depths is fine"
        );
    }

    #[test]
    fn a_header_that_repeats_a_field_is_an_error() {
        let err = parse(
            b"{\"log_type\":\"sms\",\"log_type\":\"contacts\"}\n",
            &sms_specs(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed upload: header (line 1) has a duplicate field \"log_type\""
        );
    }

    #[test]
    fn the_ceiling_applies_to_the_decompressed_upload() {
        let text = format!("{HEADER}\n{}", "{}\n".repeat(10_000));
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        let gzip = enc.finish().unwrap();
        let parser = UploadParser::new(sms_specs());
        for data in [text.as_bytes(), &gzip] {
            assert!(parser.parse(data, Some(text.len())).is_ok());
            let err = parser.parse(data, Some(text.len() - 1)).unwrap_err();
            assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        }
    }

    #[test]
    fn records_across_batches_are_deduplicated_in_line_order() {
        let record = |i: usize| {
            format!(
                "{{\"address\":\"a{}\",\"date\":1,\"type\":1,\"body\":\"x\"}}\n",
                i % 1000
            )
        };
        let lines = BATCH_LINES * 2 + 10;
        let text = format!("{HEADER}\n{}", (0..lines).map(record).collect::<String>());
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        assert_eq!((parsed.records, parsed.duplicates), (1000, lines - 1000));
        let line_nums: Vec<_> = records(&parsed)
            .iter()
            .map(|r| r["line_num"].as_u64().unwrap())
            .collect();
        assert_eq!(line_nums, (2..1002).collect::<Vec<u64>>());
    }

    #[test]
    fn rejected_lines_keep_each_reason_once_and_runs_whole() {
        let mut rejected = RejectedLines::default();
        for (line_num, reason) in [(2, "a"), (3, "a"), (4, "b"), (6, "b"), (7, "a"), (8, "a")] {
            rejected.push(Rejected {
                line_num,
                reason: reason.into(),
            });
        }
        let all = [(2, "a"), (3, "a"), (4, "b"), (6, "b"), (7, "a"), (8, "a")];
        assert_eq!(rejected.iter().collect::<Vec<_>>(), all);
        assert_eq!(
            (0..7).map(|i| rejected.get(i)).collect::<Vec<_>>(),
            all.map(Some).into_iter().chain([None]).collect::<Vec<_>>()
        );
        assert_eq!(
            (rejected.len(), rejected.runs.len(), rejected.reasons.len()),
            (6, 4, 2)
        );
    }
}
