//! Collating phone-log uploads: `upload` parses one into `columns`, the
//! Arrow layout the binding hands to pyarrow; `text` renders collated
//! records, read in place from pyarrow's buffers, as lines of text.

pub mod columns;
pub mod text;
pub mod upload;
