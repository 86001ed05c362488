//! Reading the run report and the per-test report back, through the one
//! loader of leakcheck's files ([`crate::file_format`]).

use std::path::Path;

use super::model::{Report, TestReport};
use crate::file_format::{self, FileError, FileKind};

impl Report {
    /// Parses a report written by [`Report::to_json`] (or by any
    /// version-1 writer); `origin` names the input in errors.
    pub fn from_json_bytes(data: &[u8], origin: &str) -> Result<Report, FileError> {
        file_format::parse(FileKind::Report, data, origin)
    }

    /// Reads a report file.
    pub fn load(path: impl AsRef<Path>) -> Result<Report, FileError> {
        file_format::load(FileKind::Report, path.as_ref(), Report::from_json_bytes)
    }
}

impl TestReport {
    /// Parses a per-test report written by [`TestReport::to_json`] (or by
    /// plain serde: format 1 does not require the `version` key); `origin`
    /// names the input in errors.
    pub fn from_json_bytes(data: &[u8], origin: &str) -> Result<TestReport, FileError> {
        file_format::parse(FileKind::TestReport, data, origin)
    }

    /// Reads a per-test report file.
    pub fn load(path: impl AsRef<Path>) -> Result<TestReport, FileError> {
        file_format::load(
            FileKind::TestReport,
            path.as_ref(),
            TestReport::from_json_bytes,
        )
    }
}
