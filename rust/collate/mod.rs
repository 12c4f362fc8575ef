//! Collating phone-log uploads.

pub mod upload;
