//! The Python face of the core: argument conversion, GIL release, and the
//! mapping of the core's one error type onto Python exceptions (the only
//! place where errors are converted).

use std::borrow::Cow;
use std::path::PathBuf;

use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::classify::engine::CompiledRuleSet;
use crate::classify::verdict::Verdict;
use crate::classify::{lint, naive, prefilter, ruleset};
use crate::collate::upload;
use crate::config::DEFAULT_CONTEXT_DEPTH;
use crate::decode::decode_text;
use crate::error::Error;

/// The packaged default ruleset, compiled into the module so that loading it
/// needs no file access at cold start.
const DEFAULT_RULESET: &str = include_str!("../python/logsorter/ruleset.toml");

// Input that cannot be read, and rulesets that do not load; both subclass
// `ValueError`, which callers caught before these existed. Their docs are in
// `_core.pyi`.
pyo3::create_exception!(logsorter._core, CorruptInputError, PyValueError);
pyo3::create_exception!(logsorter._core, RuleSetError, PyValueError);

impl From<Error> for PyErr {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
                _ => PyOSError::new_err(message),
            },
            Error::Gzip(_) | Error::MalformedUpload(_) => CorruptInputError::new_err(message),
            Error::RuleSetSyntax(_) | Error::BadPattern { .. } | Error::TooBig(_) => {
                RuleSetError::new_err(message)
            }
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
    inner: CompiledRuleSet,
}

#[pymethods]
impl RuleSet {
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(Self {
            inner: py.detach(|| CompiledRuleSet::from_toml(text))?,
        })
    }

    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        Ok(Self {
            inner: py.detach(|| CompiledRuleSet::from_file(&path))?,
        })
    }

    #[staticmethod]
    fn default(py: Python<'_>) -> PyResult<Self> {
        Self::from_toml(py, DEFAULT_RULESET)
    }

    #[pyo3(signature = (data, context_depth = DEFAULT_CONTEXT_DEPTH))]
    fn classify(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        context_depth: usize,
    ) -> PyResult<Option<Match>> {
        let verdict = with_log_text(py, data, |text| self.inner.classify(text, context_depth))?;
        Ok(verdict.map(Match::from))
    }

    // Every rule's last match; the Python name is public API.
    #[pyo3(signature = (data, context_depth = DEFAULT_CONTEXT_DEPTH))]
    fn classify_all(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        context_depth: usize,
    ) -> PyResult<Vec<Match>> {
        let verdicts = with_log_text(py, data, |text| {
            self.inner.last_match_per_rule(text, context_depth)
        })?;
        Ok(verdicts.into_iter().map(Match::from).collect())
    }

    #[getter]
    fn digest(&self) -> &str {
        &self.inner.ruleset().digest
    }

    /// `(name, pattern)` of each rule, in priority order.
    #[getter]
    fn rules(&self) -> Vec<(String, String)> {
        self.inner
            .ruleset()
            .rules
            .iter()
            .map(|r| (r.name.clone(), r.pattern.as_str().to_owned()))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.ruleset().rules.len()
    }

    fn __repr__(&self) -> String {
        let ruleset = self.inner.ruleset();
        format!(
            "RuleSet(rules={}, digest={:?})",
            ruleset.rules.len(),
            ruleset.digest
        )
    }
}

/// The naive scan (every rule over every line), kept as a baseline for
/// benchmarks and as an oracle for differential tests.
#[pyfunction]
#[pyo3(signature = (ruleset, data, context_depth = DEFAULT_CONTEXT_DEPTH))]
pub fn naive_classify(
    py: Python<'_>,
    ruleset: &RuleSet,
    data: &Bound<'_, PyAny>,
    context_depth: usize,
) -> PyResult<Option<Match>> {
    let verdict = with_log_text(py, data, |text| {
        naive::classify(ruleset.inner.ruleset(), text, context_depth)
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

/// An upload reduced to what Arrow reads: see `upload::parse`.
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
    use upload::{FieldKind, LogSpec};
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
    let parsed = py.detach(|| upload::parse(data, &log_specs))?;
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
    lint::lint_rules(&rules)
        .into_iter()
        .map(|f| (f.index, f.severity.as_str(), f.code, f.message))
        .collect()
}

/// The literals the engine searches for `pattern` to find the lines it may
/// match; `None` when it has none and is tried on every line.
#[pyfunction]
pub fn required_literals(py: Python<'_>, pattern: &str) -> PyResult<Option<Vec<Py<PyBytes>>>> {
    let hir = ruleset::parse_pattern(pattern).map_err(RuleSetError::new_err)?;
    Ok(prefilter::line_literals(&hir).map(|literals| {
        literals
            .iter()
            .map(|literal| PyBytes::new(py, literal).unbind())
            .collect()
    }))
}
