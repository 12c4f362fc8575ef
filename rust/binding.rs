//! The Python face of the core: argument conversion, GIL release, and the
//! mapping of the core's one error type onto built-in Python exceptions.

use std::borrow::Cow;
use std::path::PathBuf;

use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::decode::decode_text;
use crate::engine::Verdict;
use crate::error::Error;
use crate::{naive, ruleset};

/// The packaged default ruleset, compiled into the module so that loading it
/// needs no file access at cold start.
const DEFAULT_RULESET: &str = include_str!("../python/logsorter/ruleset.toml");

impl From<Error> for PyErr {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
                _ => PyOSError::new_err(message),
            },
            Error::Gzip(_)
            | Error::RuleSetSyntax(_)
            | Error::BadPattern { .. }
            | Error::TooBig(_) => PyValueError::new_err(message),
        }
    }
}

/// A log given as `bytes` (maybe gzip) or `str`, borrowed from Python.
enum LogInput<'py> {
    Bytes(&'py [u8]),
    Text(&'py str),
}

impl<'py> LogInput<'py> {
    fn extract(data: &'py Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = data.cast::<PyBytes>() {
            Ok(Self::Bytes(bytes.as_bytes()))
        } else if let Ok(text) = data.cast::<PyString>() {
            Ok(Self::Text(text.to_str()?))
        } else {
            Err(PyTypeError::new_err(format!(
                "log data must be bytes or str, not {}",
                data.get_type().name()?
            )))
        }
    }

    fn text(&self) -> Result<Cow<'py, str>, Error> {
        match *self {
            Self::Bytes(bytes) => decode_text(bytes),
            Self::Text(text) => Ok(Cow::Borrowed(text)),
        }
    }
}

/// Runs `work` on a log's text with the GIL released for the whole call,
/// decompressing and decoding first when the log came as bytes.
fn with_log_text<T: Send>(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    work: impl FnOnce(&str) -> T + Send,
) -> PyResult<T> {
    let input = LogInput::extract(data)?;
    Ok(py.detach(|| input.text().map(|text| work(&text)))?)
}

#[pyclass(module = "logsorter._core", frozen)]
pub struct RuleSet {
    inner: ruleset::RuleSet,
}

#[pymethods]
impl RuleSet {
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(Self {
            inner: py.detach(|| ruleset::RuleSet::from_toml(text))?,
        })
    }

    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        Ok(Self {
            inner: py.detach(|| ruleset::RuleSet::from_file(&path))?,
        })
    }

    #[staticmethod]
    fn default(py: Python<'_>) -> PyResult<Self> {
        Self::from_toml(py, DEFAULT_RULESET)
    }

    #[pyo3(signature = (data, context_depth = 12))]
    fn classify(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        context_depth: usize,
    ) -> PyResult<Option<Match>> {
        let verdict = with_log_text(py, data, |text| self.inner.classify(text, context_depth))?;
        Ok(verdict.map(Match::from))
    }

    #[pyo3(signature = (data, context_depth = 12))]
    fn classify_all(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        context_depth: usize,
    ) -> PyResult<Vec<Match>> {
        let verdicts = with_log_text(py, data, |text| {
            self.inner.classify_all(text, context_depth)
        })?;
        Ok(verdicts.into_iter().map(Match::from).collect())
    }

    #[getter]
    fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// `(name, pattern)` of each rule, in priority order.
    #[getter]
    fn rules(&self) -> Vec<(String, String)> {
        self.inner
            .rules
            .iter()
            .map(|r| (r.name.clone(), r.pattern.as_str().to_owned()))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.rules.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "RuleSet(rules={}, digest={:?})",
            self.inner.rules.len(),
            self.inner.digest
        )
    }
}

/// The naive scan (every rule over every line), kept as a baseline for
/// benchmarks and as an oracle for differential tests.
#[pyfunction]
#[pyo3(signature = (ruleset, data, context_depth = 12))]
pub fn naive_classify(
    py: Python<'_>,
    ruleset: &RuleSet,
    data: &Bound<'_, PyAny>,
    context_depth: usize,
) -> PyResult<Option<Match>> {
    let verdict = with_log_text(py, data, |text| {
        naive::classify(&ruleset.inner, text, context_depth)
    })?;
    Ok(verdict.map(Match::from))
}

#[pyclass(module = "logsorter._core", frozen, eq, get_all)]
#[derive(PartialEq)]
pub struct Match {
    rule: String,
    line: String,
    line_num: usize,
    captures: Vec<String>,
    context: Vec<String>,
}

impl From<Verdict> for Match {
    fn from(v: Verdict) -> Self {
        Self {
            rule: v.rule,
            line: v.line,
            line_num: v.line_num,
            captures: v.captures,
            context: v.context,
        }
    }
}

#[pymethods]
impl Match {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("rule", &self.rule)?;
        dict.set_item("line", &self.line)?;
        dict.set_item("line_num", self.line_num)?;
        dict.set_item("captures", &self.captures)?;
        dict.set_item("context", &self.context)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "Match(rule={:?}, line_num={}, captures={:?}, line={:?})",
            self.rule, self.line_num, self.captures, self.line
        )
    }
}

/// An upload reduced to what Arrow reads: see `crate::upload::parse`.
#[pyclass(module = "logsorter._core", frozen, get_all)]
pub struct ParsedUpload {
    log_type: String,
    schema_version: i64,
    collected_at: Option<i64>,
    app_version: Option<String>,
    ndjson: Py<PyBytes>,
    records: usize,
    duplicates: usize,
    rejected: Vec<(usize, String)>,
    longest_line: usize,
}

/// Per known log type, `(fields, identity)`: `fields` is a list of
/// `(name, kind)` and `identity` the names that identify a record.
type UploadSpecs = std::collections::BTreeMap<String, (Vec<(String, String)>, Vec<String>)>;

#[pyfunction]
pub fn parse_upload(py: Python<'_>, data: &[u8], specs: UploadSpecs) -> PyResult<ParsedUpload> {
    use crate::upload::{FieldKind, LogSpec};
    let mut log_specs = std::collections::BTreeMap::new();
    for (log_type, (fields, identity)) in specs {
        let fields = fields
            .into_iter()
            .map(|(name, kind)| match FieldKind::parse(&kind) {
                Some(kind) => Ok((name, kind)),
                None => Err(PyValueError::new_err(format!(
                    "{log_type}.{name}: unknown field kind {kind:?}"
                ))),
            })
            .collect::<PyResult<_>>()?;
        log_specs.insert(log_type, LogSpec { fields, identity });
    }
    let parsed = py
        .detach(|| crate::upload::parse(data, &log_specs))
        .map_err(|err| PyValueError::new_err(err.to_string()))?;
    let header = parsed.header;
    Ok(ParsedUpload {
        log_type: header.log_type,
        schema_version: header.schema_version,
        collected_at: header.collected_at,
        app_version: header.app_version,
        ndjson: PyBytes::new(py, &parsed.ndjson).unbind(),
        records: parsed.records,
        duplicates: parsed.duplicates,
        rejected: parsed
            .rejected
            .into_iter()
            .map(|r| (r.line_num, r.reason))
            .collect(),
        longest_line: parsed.longest_line,
    })
}

/// Static checks of `(name, pattern)` rules in priority order, as
/// `(rule index, severity, code, message)` in rule order.
#[pyfunction]
pub fn lint_rules(
    rules: Vec<(String, String)>,
) -> Vec<(usize, &'static str, &'static str, String)> {
    crate::lint::lint_rules(&rules)
        .into_iter()
        .map(|f| (f.index, f.severity.as_str(), f.code, f.message))
        .collect()
}

/// The first line of `line` as the engine reads it: without the GitHub
/// Actions timestamp, ANSI escape sequences and a final carriage return.
#[pyfunction]
pub fn normalize_line(line: &str) -> String {
    let mut normalized = String::with_capacity(line.len());
    crate::normalize::push_normalized_line(line, 0, &mut normalized);
    normalized
}
