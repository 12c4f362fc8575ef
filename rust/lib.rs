//! logsorter's native core. The modules are plain Rust, tested with `cargo
//! test`; `binding` is the thin pyo3 layer that exposes them as
//! `logsorter._core`.

pub mod decode;
pub mod engine;
pub mod error;
pub mod lint;
pub mod naive;
pub mod normalize;
pub mod prefilter;
pub mod ruleset;
pub mod upload;

#[cfg(feature = "python")]
mod binding;

#[cfg(feature = "python")]
#[pyo3::pymodule]
mod _core {
    #[pymodule_export]
    use crate::binding::{lint_rules, naive_classify, normalize_line, Match, RuleSet};
    #[pymodule_export]
    use crate::binding::{parse_upload, ParsedUpload};

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
