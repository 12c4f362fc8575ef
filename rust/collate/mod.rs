//! Collating phone-log uploads: `upload` parses one into `columns`, the
//! Arrow layout the binding hands to pyarrow.

pub mod columns;
pub mod upload;
