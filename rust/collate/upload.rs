//! Phone-log uploads: NDJSON (plain or gzip) whose first line is a header and
//! every other line one record. This module turns an upload into a clean
//! NDJSON buffer that Arrow can read with a fixed schema: known fields
//! type-checked and normalised, every other field kept as canonical JSON in
//! `extra`, and each record's identity hashed into `record_key`. Records that
//! repeat an identity already seen in the same upload are dropped here, and
//! records that cannot be accepted are reported with their line numbers
//! instead of failing the whole upload.

use std::collections::{BTreeMap, HashSet};

use blake2::digest::consts::U16;
use blake2::{Blake2b, Digest};
use serde_json::Value;

use crate::config;
use crate::decode::decompress;
use crate::error::{Error, Result};

const BOM: &str = "\u{feff}";
/// Hex digits of the BLAKE2b-128 record keys and content hashes: 128 bits
/// make collisions negligible for any number of records a device can send.
const HASH_HEX_LEN: usize = 32;
/// Below this many lines per thread, spawning costs more than it saves.
const MIN_CHUNK: usize = 2048;

/// The JSON type a known field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Int,
    Float,
    Str,
    /// `true`/`false`, or the 0/1 integers Android's content providers use.
    Bool,
    StrList,
}

impl FieldKind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "int" => Self::Int,
            "float" => Self::Float,
            "str" => Self::Str,
            "bool" => Self::Bool,
            "str_list" => Self::StrList,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Int => "an integer",
            Self::Float => "a number",
            Self::Str => "a string",
            Self::Bool => "a boolean or 0/1",
            Self::StrList => "a list of strings",
        }
    }

    /// The value in the form the Arrow schema expects, or the value back when
    /// it has the wrong type. `null` is accepted for every kind.
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

/// How the records of one log type are checked and identified.
#[derive(Debug, Clone, Default)]
pub struct LogSpec {
    pub fields: Vec<(String, FieldKind)>,
    /// Fields whose values identify a record; empty means one record per
    /// device (the whole log is a single row).
    pub identity: Vec<String>,
}

/// The first line of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub log_type: String,
    pub schema_version: i64,
    pub collected_at: Option<i64>,
    pub app_version: Option<String>,
}

/// A line that was not collated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line_num: usize,
    pub reason: String,
}

#[derive(Debug)]
pub struct Parsed {
    pub header: Header,
    /// One JSON object per accepted record, newline-terminated: the known
    /// fields, `extra`, `record_key`, `content_hash` and `line_num`.
    pub ndjson: Vec<u8>,
    pub records: usize,
    /// Records dropped because an earlier line of the upload had the same identity.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Length of the longest output line, so a reader can size its blocks.
    pub longest_line: usize,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedUpload(reason.into())
}

/// Parses an upload. `specs` maps known log types to their fields; any other
/// valid log type is collated with all fields in `extra` and the whole record
/// as its identity.
pub fn parse(data: &[u8], specs: &BTreeMap<String, LogSpec>) -> Result<Parsed> {
    let bytes = decompress(data).map_err(|err| malformed(err.to_string()))?;
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
    let generic = LogSpec::default();
    let (spec, known) = match specs.get(&header.log_type) {
        Some(spec) => (spec, true),
        None => (&generic, false),
    };

    let lines: Vec<(usize, &str)> = lines.collect();
    let mut parsed = Parsed {
        header,
        ndjson: Vec::with_capacity(text.len() + lines.len() * 100),
        records: 0,
        duplicates: 0,
        rejected: Vec::new(),
        longest_line: 0,
    };
    // Records are independent, so chunks are cleaned on all cores; the
    // in-upload dedupe then walks the results in line order.
    let chunk_len = lines.len().div_ceil(config::threads()).max(MIN_CHUNK);
    let cleaned: Vec<Vec<Cleaned>> = std::thread::scope(|scope| {
        let workers: Vec<_> = lines
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(move || clean_chunk(chunk, spec, known)))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a record cleaner panicked"))
            .collect()
    });
    let mut seen = HashSet::with_capacity(lines.len());
    for item in cleaned.into_iter().flatten() {
        match item {
            Cleaned::Record { key, line } => {
                if seen.insert(key) {
                    parsed.longest_line = parsed.longest_line.max(line.len());
                    parsed.ndjson.extend_from_slice(&line);
                    parsed.records += 1;
                } else {
                    parsed.duplicates += 1;
                }
            }
            Cleaned::Rejected(rejected) => parsed.rejected.push(rejected),
        }
    }
    Ok(parsed)
}

fn is_valid_log_type(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn parse_header(line_num: usize, line: &str) -> Result<Header> {
    let value: Value = serde_json::from_str(line)
        .map_err(|err| malformed(format!("header (line {line_num}) is not valid JSON: {err}")))?;
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
    let integer = |name: &str| -> Result<Option<i64>> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(_) => Err(malformed(format!("header field {name} must be an integer"))),
        }
    };
    let app_version = match fields.get("app_version") {
        None | Some(Value::Null) => None,
        Some(Value::String(version)) => Some(version.clone()),
        Some(other) => Some(canonical_json(other)),
    };
    Ok(Header {
        log_type,
        schema_version: integer("schema_version")?.unwrap_or(1),
        collected_at: integer("collected_at")?,
        app_version,
    })
}

enum Cleaned {
    /// The output line (newline included) and the record's identity hash.
    Record {
        key: String,
        line: Vec<u8>,
    },
    Rejected(Rejected),
}

fn clean_chunk(lines: &[(usize, &str)], spec: &LogSpec, known: bool) -> Vec<Cleaned> {
    lines
        .iter()
        .map(
            |&(line_num, line)| match clean_record(line_num, line, spec, known) {
                Ok((key, line)) => Cleaned::Record { key, line },
                Err(reason) => Cleaned::Rejected(Rejected { line_num, reason }),
            },
        )
        .collect()
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &impl serde::Serialize) {
    out.push(if out.is_empty() { b'{' } else { b',' });
    // Strings and JSON values always serialise into a Vec.
    serde_json::to_writer(&mut *out, name).expect("in-memory JSON");
    out.push(b':');
    serde_json::to_writer(&mut *out, value).expect("in-memory JSON");
}

/// The record's identity hash and its output line.
fn clean_record(
    line_num: usize,
    line: &str,
    spec: &LogSpec,
    known_type: bool,
) -> std::result::Result<(String, Vec<u8>), String> {
    let value: Value = serde_json::from_str(line).map_err(|err| format!("invalid JSON: {err}"))?;
    let Value::Object(mut fields) = value else {
        return Err("not a JSON object".into());
    };
    let mut known = Vec::with_capacity(spec.fields.len());
    for (name, kind) in &spec.fields {
        let Some(value) = fields.remove(name) else {
            continue;
        };
        let value = kind.normalise(value).map_err(|value| {
            format!(
                "field {name:?} must be {}, got {}",
                kind.describe(),
                json_type(&value)
            )
        })?;
        known.push((name.as_str(), value));
    }
    let extra = (!fields.is_empty()).then(|| canonical_json(&Value::Object(fields)));

    let identity = if known_type {
        let mut values = Vec::with_capacity(spec.identity.len());
        for name in &spec.identity {
            match known.iter().find(|(field, _)| field == name) {
                Some((_, value)) if !value.is_null() => values.push(value),
                _ => return Err(format!("missing identity field {name:?}")),
            }
        }
        let mut text = String::from("[");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            write_canonical(value, &mut text);
        }
        text.push(']');
        text
    } else {
        extra.clone().unwrap_or_else(|| "{}".into())
    };
    let mut out = Vec::with_capacity(line.len() + 128);
    for (name, value) in &known {
        push_field(&mut out, name, value);
    }
    // The known fields as written (in the spec's order, values canonical)
    // plus the extras: equal records give equal bytes.
    let content_hash = short_hash(&[&out, extra.as_deref().unwrap_or("").as_bytes()]);
    let key = short_hash(&[identity.as_bytes()]);
    push_field(&mut out, "extra", &extra);
    push_field(&mut out, "record_key", &key);
    push_field(&mut out, "content_hash", &content_hash);
    push_field(&mut out, "line_num", &line_num);
    out.extend_from_slice(b"}\n");
    Ok((key, out))
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
fn short_hash(parts: &[&[u8]]) -> String {
    let mut hasher = Blake2b::<U16>::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(HASH_HEX_LEN);
    for byte in &digest[..HASH_HEX_LEN / 2] {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// Compact JSON with object keys sorted at every level, so equal records give
/// equal text whatever order the phone wrote their fields in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(fields) => {
            let mut names: Vec<&String> = fields.keys().collect();
            names.sort();
            out.push('{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                write_canonical(&fields[name], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_the_blake2b_128_python_computes() {
        // hashlib.blake2b(b"abc", digest_size=16).hexdigest()
        assert_eq!(
            short_hash(&[b"a", b"bc"]),
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
        };
        BTreeMap::from([("sms".to_owned(), spec)])
    }

    fn records(parsed: &Parsed) -> Vec<serde_json::Map<String, Value>> {
        std::str::from_utf8(&parsed.ndjson)
            .unwrap()
            .lines()
            .map(|line| match serde_json::from_str(line).unwrap() {
                Value::Object(map) => map,
                _ => panic!("not an object"),
            })
            .collect()
    }

    const HEADER: &str = r#"{"log_type":"sms","collected_at":1700000000000}"#;

    #[test]
    fn bom_crlf_and_blank_lines_keep_line_numbers() {
        let text = format!("\u{feff}{HEADER}\r\n\r\n{{\"address\":\"a\",\"date\":1,\"type\":1,\"body\":\"x\"}}\r\n  \n{{\"address\":\"b\",\"date\":2,\"type\":1,\"body\":\"y\"}}");
        let parsed = parse(text.as_bytes(), &sms_specs()).unwrap();
        let header = parsed.header.clone();
        assert_eq!(
            (
                header.log_type.as_str(),
                header.schema_version,
                header.collected_at
            ),
            ("sms", 1, Some(1700000000000))
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
        let reasons: Vec<_> = parsed
            .rejected
            .iter()
            .map(|r| (r.line_num, r.reason.as_str()))
            .collect();
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
}
