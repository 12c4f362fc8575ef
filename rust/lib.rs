//! logsorter's native core. The modules are plain Rust, tested with `cargo
//! test`; `binding` is the thin pyo3 layer that exposes them as
//! `logsorter._core`.

pub mod classify;
pub mod collate;
pub mod config;
pub mod decode;
pub mod error;

#[cfg(feature = "python")]
mod binding;

#[cfg(feature = "python")]
#[pyo3::pymodule]
mod _core {
    #[pymodule_export]
    use crate::binding::{
        decode_log, lint_rules, naive_classify, normalize_line, required_literals, survey,
        text_lines, LogSurvey, Match, RuleSet,
    };
    #[pymodule_export]
    use crate::binding::{CorruptInputError, InputTooLargeError, RuleSetError};
    #[pymodule_export]
    use crate::binding::{ParsedUpload, RejectedLines, UploadParser};

    #[pymodule_export]
    const DEFAULT_CONTEXT_DEPTH: usize = crate::config::DEFAULT_CONTEXT_DEPTH;

    #[pymodule_export]
    const LOCATED_RULE: &str = crate::classify::engine::LOCATED_RULE;

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::{PyAnyMethods, PyModuleMethods};
        let sequence = m.py().import("collections.abc")?.getattr("Sequence")?;
        sequence.call_method1("register", (m.getattr("RejectedLines")?,))?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
