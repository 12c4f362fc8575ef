//! The one error type of the core. The Python binding maps each variant onto
//! an exception: `RuleSetError`, `CorruptInputError` and `InputTooLargeError`
//! (all `ValueError`s), `MemoryError`, or the `OSError` that fits.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input claimed to be gzip but could not be decompressed.
    #[error("corrupt gzip input: {0}")]
    Gzip(String),
    /// The input, once decompressed, is longer than the caller's ceiling.
    #[error("the input is larger than the limit of {} when decompressed", Size(*limit))]
    TooLarge { limit: usize },
    /// A buffer for the input could not be allocated.
    #[error("cannot allocate {bytes} bytes for the decompressed input")]
    OutOfMemory { bytes: usize },
    /// A whole upload cannot be collated (no header, an invalid header, corrupt
    /// gzip): a retry cannot help.
    #[error("malformed upload: {0}")]
    MalformedUpload(String),
    /// A column handed to the core does not have the Arrow layout it claims
    /// (a caller's bug, never the data's).
    #[error("invalid Arrow column: {0}")]
    InvalidColumn(String),
    /// The ruleset text is not valid TOML or does not have the expected shape.
    #[error("invalid ruleset: {0}")]
    RuleSetSyntax(String),
    /// One rule (or ignore pattern) does not parse, or is too large to compile.
    #[error("invalid ruleset: {what}: {reason}")]
    BadPattern { what: PatternSource, reason: String },
    /// The compiled automata exceeded a size limit (many huge patterns).
    #[error("invalid ruleset: {0}")]
    TooBig(String),
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Names the pattern a compile error belongs to, so a user can find it in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternSource {
    /// A `[[rule]]` table: zero-based index in priority order, and its name.
    Rule { index: usize, name: String },
    /// A pattern from the `[ignore]` table.
    Ignore { key: &'static str, index: usize },
}

impl PatternSource {
    pub fn ignore_line(index: usize) -> Self {
        Self::Ignore {
            key: "lines",
            index,
        }
    }

    /// Both patterns of a region share their source.
    pub fn ignore_region(index: usize) -> Self {
        Self::Ignore {
            key: "regions",
            index,
        }
    }
}

impl fmt::Display for PatternSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule { index, name } => write!(f, "rule {index} ({name:?})"),
            Self::Ignore { key, index } => write!(f, "ignore.{key}[{index}]"),
        }
    }
}

/// A byte count as a user sets it: whole megabytes (MiB) as `N MB`, anything
/// else in bytes.
struct Size(usize);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MB: usize = 1 << 20;
        match self.0 {
            bytes if bytes >= MB && bytes % MB == 0 => write!(f, "{} MB", bytes / MB),
            bytes => write!(f, "{bytes} bytes"),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
