//! The Python face of the core: argument conversion, GIL release, and the
//! mapping of the core's one error type onto Python exceptions (the only
//! place where errors are converted).

use std::borrow::Cow;
use std::path::PathBuf;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIndexError, PyMemoryError, PyOSError, PyPermissionError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBytes, PyDict, PyList, PySlice, PyString, PyTuple};

use std::collections::BTreeMap;

use crate::classify::engine::survey::{self as surveying, SurveyOptions};
use crate::classify::engine::{CompiledRuleSet, Options};
use crate::classify::locator::Baseline;
use crate::classify::verdict::Verdict;
use crate::classify::{lint, naive, prefilter, ruleset};
use crate::collate::columns::{Column, FieldKind, Strings, Values};
use crate::collate::text::{self, TextColumn, ValidityBits};
use crate::collate::upload;
use crate::config::DEFAULT_CONTEXT_DEPTH;
use crate::decode::{check_limit, decode_text};
use crate::error::Error;

/// The packaged default ruleset, compiled into the module so that loading it
/// needs no file access at cold start.
const DEFAULT_RULESET: &str = include_str!("../python/logsorter/ruleset.toml");

// Input that cannot be read, input over the caller's size ceiling, and
// rulesets that do not load; all subclass `ValueError`, which callers caught
// before these existed. Their docs are in `_core.pyi`.
pyo3::create_exception!(logsorter._core, CorruptInputError, PyValueError);
pyo3::create_exception!(logsorter._core, InputTooLargeError, PyValueError);
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
            Error::InvalidColumn(_) => PyValueError::new_err(message),
            Error::TooLarge { .. } => InputTooLargeError::new_err(message),
            Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
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

    /// The text, at most `max_bytes` long (decompressed, for gzip).
    fn text(&self, max_bytes: Option<usize>) -> Result<Cow<'py, str>, Error> {
        match *self {
            Self::Bytes(bytes) => decode_text(bytes, max_bytes),
            Self::Text(text) => check_limit(text.len(), max_bytes).map(|()| Cow::Borrowed(text)),
        }
    }
}

/// Runs `work` on a log's text with the GIL released for the whole call,
/// decompressing and decoding first when the log came as bytes.
fn with_log_text<T: Send>(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    max_bytes: Option<usize>,
    work: impl FnOnce(&str) -> T + Send,
) -> PyResult<T> {
    let input = LogInput::extract(data)?;
    Ok(py.detach(|| input.text(max_bytes).map(|text| work(&text)))?)
}

/// `threads` unset: the process's setting (`LOGSORTER_THREADS` or the cores).
fn options(context_depth: usize, threads: Option<usize>) -> Options<'static> {
    let defaults = Options::default();
    Options {
        context_depth,
        threads: threads.unwrap_or(defaults.threads),
        baseline: None,
    }
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

    #[pyo3(signature = (data, context_depth = DEFAULT_CONTEXT_DEPTH, baseline = None, *, threads = None, max_bytes = None))]
    fn classify(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        context_depth: usize,
        baseline: Option<&Bound<'_, PyAny>>,
        threads: Option<usize>,
        max_bytes: Option<usize>,
    ) -> PyResult<Option<Match>> {
        let options = options(context_depth, threads);
        let input = LogInput::extract(data)?;
        let baseline = baseline.map(LogInput::extract).transpose()?;
        let verdict = py.detach(|| {
            let baseline = baseline
                .map(|b| b.text(max_bytes).map(|text| Baseline::new(&text)))
                .transpose()?;
            let text = input.text(max_bytes)?;
            let options = Options {
                baseline: baseline.as_ref(),
                ..options
            };
            Ok::<_, Error>(self.inner.classify(&text, options))
        })?;
        Ok(verdict.map(Match::from))
    }

    // A verdict at a line another judge named; `None` for a line that
    // cannot be one (see `_core.pyi`).
    #[pyo3(signature = (data, line_num, rule, score, context_depth = DEFAULT_CONTEXT_DEPTH, *, max_bytes = None))]
    #[allow(clippy::too_many_arguments)]
    fn verdict_at(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        line_num: usize,
        rule: &str,
        score: f64,
        context_depth: usize,
        max_bytes: Option<usize>,
    ) -> PyResult<Option<Match>> {
        if !(0.0..=1.0).contains(&score) {
            return Err(PyValueError::new_err(format!(
                "score must be from 0 to 1, not {score}"
            )));
        }
        let Some(line) = line_num.checked_sub(1) else {
            return Ok(None);
        };
        let options = options(context_depth, None);
        let verdict = with_log_text(py, data, max_bytes, |text| {
            self.inner.verdict_at(text, line, rule, score, options)
        })?;
        Ok(verdict.map(Match::from))
    }

    // Every rule's match; the Python name is public API.
    #[pyo3(signature = (data, context_depth = DEFAULT_CONTEXT_DEPTH, *, threads = None, max_bytes = None))]
    fn classify_all(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        context_depth: usize,
        threads: Option<usize>,
        max_bytes: Option<usize>,
    ) -> PyResult<Vec<Match>> {
        let options = options(context_depth, threads);
        let verdicts = with_log_text(py, data, max_bytes, |text| {
            self.inner.match_per_rule(text, options)
        })?;
        Ok(verdicts.into_iter().map(Match::from).collect())
    }

    #[getter]
    fn digest(&self) -> &str {
        &self.inner.ruleset().digest
    }

    /// The `[fallback]` table as `(wrappers, catch_alls, min_score)`, if on.
    #[getter]
    fn fallback(&self) -> Option<(Vec<String>, Vec<String>, f64)> {
        self.inner
            .ruleset()
            .fallback
            .as_ref()
            .map(|f| (f.wrappers.clone(), f.catch_alls.clone(), f.min_score))
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

/// Many logs at once with each of several rulesets, one log per thread,
/// each log decompressed once for all of them.
#[pyfunction]
#[pyo3(signature = (rulesets, logs, context_depth = DEFAULT_CONTEXT_DEPTH, *, threads = None, max_bytes = None, profile = Vec::new(), before = 5, after = 2))]
#[allow(clippy::too_many_arguments)]
pub fn survey(
    py: Python<'_>,
    rulesets: Vec<PyRef<'_, RuleSet>>,
    logs: Vec<Bound<'_, PyAny>>,
    context_depth: usize,
    threads: Option<usize>,
    max_bytes: Option<usize>,
    profile: Vec<bool>,
    before: usize,
    after: usize,
) -> PyResult<Vec<Vec<LogSurvey>>> {
    let inputs = logs
        .iter()
        .map(LogInput::extract)
        .collect::<PyResult<Vec<_>>>()?;
    let compiled: Vec<&CompiledRuleSet> = rulesets.iter().map(|r| &r.inner).collect();
    let options = SurveyOptions {
        context_depth,
        threads: options(context_depth, threads).threads,
        before,
        after,
    };
    let found = py.detach(|| {
        surveying::survey(
            &compiled,
            inputs.len(),
            |i| inputs[i].text(max_bytes),
            &profile,
            options,
        )
    });
    found
        .into_iter()
        .map(|per_log| {
            per_log
                .into_iter()
                .map(|result| LogSurvey::new(py, result))
                .collect()
        })
        .collect()
}

/// The naive scan (every rule over every line), kept as a baseline for
/// benchmarks and as an oracle for differential tests.
#[pyfunction]
#[pyo3(signature = (ruleset, data, context_depth = DEFAULT_CONTEXT_DEPTH, *, max_bytes = None))]
pub fn naive_classify(
    py: Python<'_>,
    ruleset: &RuleSet,
    data: &Bound<'_, PyAny>,
    context_depth: usize,
    max_bytes: Option<usize>,
) -> PyResult<Option<Match>> {
    let verdict = with_log_text(py, data, max_bytes, |text| {
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
    score: f64,
}

impl From<Verdict> for Match {
    fn from(v: Verdict) -> Self {
        Self {
            rule: v.rule,
            line: v.line,
            line_num: v.line_num,
            captures: v.captures,
            context: v.context,
            score: v.score,
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
        dict.set_item("score", self.score)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "Match(rule={:?}, line_num={}, captures={:?}, line={:?})",
            self.rule, self.line_num, self.captures, self.line
        )
    }
}

/// What a survey found in one log; `error` says why a log could not be read
/// (the other fields are then empty).
#[pyclass(module = "logsorter._core", frozen, get_all)]
pub struct LogSurvey {
    verdict: Option<Py<Match>>,
    matched: Vec<usize>,
    window: Vec<(usize, String)>,
    bytes: usize,
    seconds: f64,
    rule_seconds: Option<Vec<f64>>,
    error: Option<String>,
}

impl LogSurvey {
    fn new(py: Python<'_>, result: surveying::Surveyed) -> PyResult<Self> {
        Ok(match result {
            Ok(found) => Self {
                verdict: found
                    .verdict
                    .map(|v| Py::new(py, Match::from(v)))
                    .transpose()?,
                matched: found.matched,
                window: found.window,
                bytes: found.bytes,
                seconds: found.seconds,
                rule_seconds: found.rule_seconds,
                error: None,
            },
            Err(err) => Self {
                verdict: None,
                matched: Vec::new(),
                window: Vec::new(),
                bytes: 0,
                seconds: 0.0,
                rule_seconds: None,
                error: Some(err),
            },
        })
    }
}

/// Per known log type, `(fields, identity)`: `fields` is a list of
/// `(name, kind)` and `identity` the names that identify a record.
type UploadSpecs = BTreeMap<String, (Vec<(String, String)>, Vec<String>)>;
/// Per known log type and older schema version, the `(name, kind)` each of
/// its `fields` was sent as in that version (`None`: it was not).
type UploadVersions = BTreeMap<String, BTreeMap<i64, Vec<Option<(String, String)>>>>;

fn field_kind(log_type: &str, name: &str, kind: &str) -> PyResult<FieldKind> {
    FieldKind::parse(kind).ok_or_else(|| {
        PyValueError::new_err(format!("{log_type}.{name}: unknown field kind {kind:?}"))
    })
}

/// Parses uploads; built once from the log types' specs.
#[pyclass(module = "logsorter._core", frozen)]
pub struct UploadParser {
    inner: upload::UploadParser,
}

#[pymethods]
impl UploadParser {
    /// The kinds a known field may have.
    #[classattr]
    #[pyo3(name = "FIELD_KINDS")]
    fn field_kinds(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        PyTuple::new(py, FieldKind::ALL.map(FieldKind::name))
    }

    /// The columns every parsed upload has after its known fields.
    #[classattr]
    #[pyo3(name = "RECORD_COLUMNS")]
    fn record_columns(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        PyTuple::new(py, upload::RECORD_COLUMNS.map(|(name, _)| name))
    }

    #[new]
    #[pyo3(signature = (specs, versions = None))]
    fn new(specs: UploadSpecs, versions: Option<UploadVersions>) -> PyResult<Self> {
        let mut versions = versions.unwrap_or_default();
        let mut log_specs = BTreeMap::new();
        for (log_type, (fields, identity)) in specs {
            let fields = fields
                .into_iter()
                .map(|(name, kind)| {
                    let kind = field_kind(&log_type, &name, &kind)?;
                    Ok((name, kind))
                })
                .collect::<PyResult<Vec<_>>>()?;
            let mut older = BTreeMap::new();
            for (version, sources) in versions.remove(&log_type).unwrap_or_default() {
                if sources.len() != fields.len() {
                    return Err(PyValueError::new_err(format!(
                        "{log_type} version {version}: {} sources for {} fields",
                        sources.len(),
                        fields.len()
                    )));
                }
                let mut converted = Vec::with_capacity(sources.len());
                for ((name, newest), source) in fields.iter().zip(sources) {
                    let Some((sent_as, kind)) = source else {
                        converted.push(None);
                        continue;
                    };
                    let kind = field_kind(&log_type, &sent_as, &kind)?;
                    if !kind.converts_losslessly_to(*newest) {
                        return Err(PyValueError::new_err(format!(
                            "{log_type} version {version}: {sent_as} ({}) does not convert \
                             to {name} ({}) without loss",
                            kind.name(),
                            newest.name()
                        )));
                    }
                    converted.push(Some((sent_as, kind)));
                }
                older.insert(version, converted);
            }
            let spec = upload::LogSpec {
                fields,
                identity,
                versions: older,
            };
            log_specs.insert(log_type, spec);
        }
        if let Some(log_type) = versions.keys().next() {
            return Err(PyValueError::new_err(format!(
                "versions of {log_type}, which has no spec"
            )));
        }
        Ok(Self {
            inner: upload::UploadParser::new(log_specs),
        })
    }

    /// The pyarrow schema of a parsed upload of `log_type`.
    fn schema<'py>(&self, py: Python<'py>, log_type: &str) -> PyResult<Bound<'py, PyAny>> {
        let pa = py.import("pyarrow")?;
        arrow_schema(&pa, &self.inner.columns(log_type))
    }

    #[pyo3(signature = (data, max_bytes = None))]
    fn parse(
        &self,
        py: Python<'_>,
        data: &[u8],
        max_bytes: Option<usize>,
    ) -> PyResult<ParsedUpload> {
        let parsed = py.detach(|| self.inner.parse(data, max_bytes))?;
        let pa = py.import("pyarrow")?;
        let layout: Vec<(&str, FieldKind)> = parsed
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        let schema = arrow_schema(&pa, &layout)?;
        let arrays = parsed
            .columns
            .into_iter()
            .map(|column| arrow_array(&pa, column))
            .collect::<PyResult<Vec<_>>>()?;
        let table = pa.getattr("Table")?.call_method(
            "from_arrays",
            (arrays,),
            Some(&[("schema", schema)].into_py_dict(py)?),
        )?;
        Ok(ParsedUpload {
            log_type: parsed.header.log_type,
            collected_at: parsed.header.collected_at,
            schema_version: parsed.header.schema_version,
            app_version: parsed.header.app_version,
            table: table.unbind(),
            records: parsed.records,
            duplicates: parsed.duplicates,
            rejected: Py::new(
                py,
                RejectedLines {
                    inner: parsed.rejected,
                },
            )?,
        })
    }
}

/// An upload's records as a pyarrow table, and what was left out.
#[pyclass(module = "logsorter._core", frozen, get_all)]
pub struct ParsedUpload {
    log_type: String,
    collected_at: Option<i64>,
    schema_version: Option<i64>,
    app_version: Option<String>,
    table: Py<PyAny>,
    records: usize,
    duplicates: usize,
    rejected: Py<RejectedLines>,
}

/// `(line_num, reason)` of each rejected line, as a read-only sequence over
/// the core's compact list: tens of millions of Python tuples would take
/// gigabytes, while callers read the count and a few of them.
#[pyclass(module = "logsorter._core", frozen, sequence)]
pub struct RejectedLines {
    inner: upload::RejectedLines,
}

#[pymethods]
impl RejectedLines {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __getitem__<'py>(&self, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = index.py();
        let len = self.inner.len();
        let at = |position: usize| self.inner.get(position).expect("position within len");
        if let Ok(slice) = index.cast::<PySlice>() {
            let range = slice.indices(isize::try_from(len)?)?;
            let positions = (0..range.slicelength).map(|i| range.start + range.step * i as isize);
            let items = positions.map(|position| at(position as usize));
            return Ok(PyList::new(py, items)?.into_any());
        }
        let index: isize = index.extract()?;
        let position = if index < 0 {
            index.checked_add_unsigned(len)
        } else {
            Some(index)
        };
        match position
            .and_then(|p| usize::try_from(p).ok())
            .filter(|&p| p < len)
        {
            Some(position) => Ok(at(position).into_pyobject(py)?.into_any()),
            None => Err(PyIndexError::new_err("rejected line index out of range")),
        }
    }

    /// `Sequence.count`: `collections.abc.Sequence` lists this class, so it
    /// has that interface whole.
    fn count(&self, value: &Bound<'_, PyAny>) -> usize {
        let Ok((line, reason)) = value.extract::<(usize, String)>() else {
            return 0;
        };
        self.inner
            .iter()
            .filter(|&item| item == (line, &reason))
            .count()
    }

    /// `Sequence.index`: the first position of `value` in `start..stop`
    /// (negative: from the end).
    #[pyo3(signature = (value, start = 0, stop = None))]
    fn index(
        &self,
        value: &Bound<'_, PyAny>,
        start: isize,
        stop: Option<isize>,
    ) -> PyResult<usize> {
        let len = self.inner.len();
        let bound = |at: isize| match usize::try_from(at) {
            Ok(at) => at.min(len),
            Err(_) => len.saturating_sub(at.unsigned_abs()),
        };
        let (start, stop) = (bound(start), stop.map_or(len, bound));
        value
            .extract::<(usize, String)>()
            .ok()
            .and_then(|(line, reason)| {
                let mut window = self.inner.iter().take(stop).skip(start);
                window.position(|item| item == (line, &reason))
            })
            .map(|offset| start + offset)
            .ok_or_else(|| PyValueError::new_err("not a rejected line"))
    }

    fn __repr__(&self) -> String {
        format!("<{} rejected lines>", self.inner.len())
    }
}

fn arrow_type<'py>(pa: &Bound<'py, PyModule>, kind: FieldKind) -> PyResult<Bound<'py, PyAny>> {
    match kind {
        FieldKind::Int => pa.call_method0("int64"),
        FieldKind::Float => pa.call_method0("float64"),
        FieldKind::Str => pa.call_method0("string"),
        FieldKind::Bool => pa.call_method0("bool_"),
        FieldKind::StrList => pa.call_method1("list_", (pa.call_method0("string")?,)),
    }
}

fn arrow_schema<'py>(
    pa: &Bound<'py, PyModule>,
    columns: &[(&str, FieldKind)],
) -> PyResult<Bound<'py, PyAny>> {
    let fields = columns
        .iter()
        .map(|&(name, kind)| pa.call_method1("field", (name, arrow_type(pa, kind)?)))
        .collect::<PyResult<Vec<_>>>()?;
    pa.call_method1("schema", (fields,))
}

/// A column as a pyarrow array over the column's own buffers (no copy).
fn arrow_array<'py>(pa: &Bound<'py, PyModule>, column: Column) -> PyResult<Bound<'py, PyAny>> {
    let py = pa.py();
    let buffer = |bytes: NativeBuffer| -> PyResult<Bound<'py, PyAny>> {
        pa.call_method1("py_buffer", (Bound::new(py, bytes)?,))
    };
    let length = column.len();
    let null_count = column.validity.null_count();
    let validity = match column.validity.into_bitmap() {
        Some(bitmap) => Some(buffer(NativeBuffer::Bytes(bitmap.into_bytes()))?),
        None => None,
    };
    let from_buffers = |kind: FieldKind,
                        length: usize,
                        buffers: Vec<Option<Bound<'py, PyAny>>>,
                        null_count: usize,
                        children: Option<Vec<Bound<'py, PyAny>>>| {
        let kwargs = [("null_count", null_count.into_pyobject(py)?.into_any())].into_py_dict(py)?;
        if let Some(children) = children {
            kwargs.set_item("children", children)?;
        }
        pa.getattr("Array")?.call_method(
            "from_buffers",
            (arrow_type(pa, kind)?, length, buffers),
            Some(&kwargs),
        )
    };
    let strings = |strings: Strings| -> PyResult<[Option<Bound<'py, PyAny>>; 2]> {
        let (offsets, data) = strings.into_parts();
        Ok([
            Some(buffer(NativeBuffer::I32(offsets))?),
            Some(buffer(NativeBuffer::Bytes(data))?),
        ])
    };
    let (buffers, children) = match column.values {
        Values::Int(values) => (
            vec![validity, Some(buffer(NativeBuffer::I64(values))?)],
            None,
        ),
        Values::Float(values) => (
            vec![validity, Some(buffer(NativeBuffer::F64(values))?)],
            None,
        ),
        Values::Bool(bits) => {
            let values = buffer(NativeBuffer::Bytes(bits.into_bytes()))?;
            (vec![validity, Some(values)], None)
        }
        Values::Str(text) => {
            let [offsets, data] = strings(text)?;
            (vec![validity, offsets, data], None)
        }
        Values::StrList { offsets, items } => {
            let item_count = items.offsets().len() - 1;
            let [item_offsets, data] = strings(items)?;
            let items = from_buffers(
                FieldKind::Str,
                item_count,
                vec![None, item_offsets, data],
                0,
                None,
            )?;
            let offsets = buffer(NativeBuffer::I32(offsets))?;
            (vec![validity, Some(offsets)], Some(vec![items]))
        }
    };
    from_buffers(column.kind, length, buffers, null_count, children)
}

/// Memory of the core handed to Python through the buffer protocol, so that
/// pyarrow reads it in place; freed when the last array using it goes.
#[pyclass(module = "logsorter._core", frozen)]
enum NativeBuffer {
    Bytes(Vec<u8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl NativeBuffer {
    fn as_bytes(&self) -> (*const u8, usize) {
        fn raw<T>(values: &[T]) -> (*const u8, usize) {
            (values.as_ptr().cast(), std::mem::size_of_val(values))
        }
        match self {
            Self::Bytes(v) => raw(v),
            Self::I32(v) => raw(v),
            Self::I64(v) => raw(v),
            Self::F64(v) => raw(v),
        }
    }
}

#[pymethods]
impl NativeBuffer {
    /// # Safety
    /// Called by Python with a valid `view`. The memory stays valid and
    /// unchanged while the view exists: the object is frozen and the view
    /// holds a reference to it.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        flags: std::os::raw::c_int,
    ) -> PyResult<()> {
        let (data, len) = slf.get().as_bytes();
        let len = isize::try_from(len).map_err(|_| PyValueError::new_err("buffer too large"))?;
        // Read-only (1): nothing may write into the core's memory.
        let filled =
            pyo3::ffi::PyBuffer_FillInfo(view, slf.as_ptr(), data.cast_mut().cast(), len, 1, flags);
        if filled == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }
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

/// The first line of `line` as the engine reads it: without the GitHub
/// Actions timestamp, ANSI escape sequences and a final carriage return.
#[pyfunction]
pub fn normalize_line(line: &str) -> String {
    let mut normalized = String::with_capacity(line.len());
    crate::classify::normalize::push_normalized_line(line, 0, &mut normalized);
    normalized
}

/// A log's text as the engine reads it: gzip decompressed, invalid UTF-8
/// replaced, at most `max_bytes` long.
#[pyfunction]
#[pyo3(signature = (data, *, max_bytes = None))]
pub fn decode_log(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    max_bytes: Option<usize>,
) -> PyResult<String> {
    with_log_text(py, data, max_bytes, str::to_owned)
}

/// The text lines of records whose cells are `columns`: pyarrow `int64` or
/// `string` arrays of one length, read in place.
#[pyfunction]
pub fn text_lines<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let arrays = columns
        .iter()
        .map(ArrowArray::borrow)
        .collect::<PyResult<Vec<_>>>()?;
    let rows = arrays.first().map_or(0, |array| array.length);
    if arrays.iter().any(|array| array.length != rows) {
        return Err(PyValueError::new_err("the columns are not of one length"));
    }
    let views = arrays
        .iter()
        .map(ArrowArray::view)
        .collect::<PyResult<Vec<_>>>()?;
    let lines = py.detach(|| text::text_lines(&views, rows))?;
    Ok(PyBytes::new(py, &lines))
}

/// A pyarrow array's buffers, held (and so kept alive and unchanged) while
/// the core reads them.
struct ArrowArray {
    is_string: bool,
    length: usize,
    offset: usize,
    validity: Option<PyUntypedBuffer>,
    values: PyUntypedBuffer,
    /// A string array's character data.
    data: Option<PyUntypedBuffer>,
}

impl ArrowArray {
    fn borrow(array: &Bound<'_, PyAny>) -> PyResult<Self> {
        let kind: String = array.getattr("type")?.str()?.extract()?;
        let is_string = match kind.as_str() {
            "string" => true,
            "int64" => false,
            other => {
                return Err(PyTypeError::new_err(format!(
                    "text cells must be int64 or string arrays, not {other}"
                )))
            }
        };
        let buffers: Vec<Option<Bound<'_, PyAny>>> = array.call_method0("buffers")?.extract()?;
        let buffer = |index: usize| -> PyResult<Option<PyUntypedBuffer>> {
            let Some(Some(object)) = buffers.get(index) else {
                return Ok(None);
            };
            let buffer = PyUntypedBuffer::get(object)?;
            if !buffer.is_c_contiguous() {
                return Err(PyValueError::new_err("an array's buffer is not contiguous"));
            }
            Ok(Some(buffer))
        };
        let values = buffer(1)?.ok_or_else(|| PyValueError::new_err("an array has no values"))?;
        Ok(Self {
            is_string,
            length: array.len()?,
            offset: array.getattr("offset")?.extract()?,
            validity: buffer(0)?,
            values,
            data: if is_string { buffer(2)? } else { None },
        })
    }

    fn view(&self) -> PyResult<TextColumn<'_>> {
        let validity = self.validity.as_ref().map(|bits| ValidityBits {
            bits: bytes(bits),
            offset: self.offset,
        });
        let width = if self.is_string { 4 } else { 8 };
        let values = bytes(&self.values)
            .get(self.offset * width..)
            .ok_or_else(|| PyValueError::new_err("an array's offset is beyond its values"))?;
        Ok(match &self.data {
            Some(data) => TextColumn::Str {
                offsets: values,
                data: bytes(data),
                validity,
            },
            None if self.is_string => TextColumn::Str {
                offsets: values,
                data: &[],
                validity,
            },
            None => TextColumn::Int { values, validity },
        })
    }
}

fn bytes(buffer: &PyUntypedBuffer) -> &[u8] {
    // SAFETY: the buffer is held for as long as the slice is borrowed, and
    // pyarrow's buffers are immutable and contiguous; bytes need no alignment.
    unsafe { std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes()) }
}
