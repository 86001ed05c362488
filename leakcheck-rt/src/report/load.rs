//! Reading the JSON report and the per-test report back, with an error that
//! says what is wrong with a bad file instead of a bare serde message.
//!
//! A file is classified in this order: empty (nothing but whitespace), not
//! JSON at all or cut short (corrupt, with serde's line and column), JSON of
//! another shape (not a report, naming what it is), a newer format version,
//! and only then a field of the wrong type (corrupt again).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::model::{REPORT_VERSION, Report, TestReport};
use crate::json::{self, Value};
use crate::json_error;

/// Which of the two report files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The whole run's report, `cargo leakcheck --json PATH`.
    Run,
    /// The file a test binary writes for one leak test under `cargo leakcheck`.
    Test,
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportKind::Run => "report",
            ReportKind::Test => "per-test report",
        })
    }
}

/// Why a report could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read or written.
    #[error("failed to access {kind} file {path}: {source}")]
    Io {
        /// Which report.
        kind: ReportKind,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file holds nothing but whitespace.
    #[error("{kind} {origin} is empty")]
    Empty {
        /// Which report.
        kind: ReportKind,
        /// The file, or `data` for in-memory input.
        origin: String,
    },
    /// The file is not valid JSON, is cut short, or has a field of the
    /// wrong type.
    #[error("{kind} {origin} is corrupt or truncated: {reason}")]
    Corrupt {
        /// Which report.
        kind: ReportKind,
        /// The file, or `data` for in-memory input.
        origin: String,
        /// What is wrong; serde's message ends with its line and column.
        reason: String,
    },
    /// The file is valid JSON, but not this kind of report.
    #[error("{origin} is not a leakcheck {kind}: it is {found}")]
    NotAReport {
        /// Which report was expected.
        kind: ReportKind,
        /// The file, or `data` for in-memory input.
        origin: String,
        /// What the file holds instead, e.g. `a leakcheck snapshot`.
        found: String,
    },
    /// The file was written by a newer leakcheck.
    #[error(
        "{kind} {origin} has format version {found}, newer than this leakcheck reads ({supported}); upgrade leakcheck"
    )]
    Version {
        /// Which report.
        kind: ReportKind,
        /// The file, or `data` for in-memory input.
        origin: String,
        /// The version in the file.
        found: u64,
        /// The newest version this crate reads.
        supported: u32,
    },
}

/// Top-level keys only the run report has.
const RUN_KEYS: &[&str] = &["tests", "session"];
/// Top-level keys only the per-test report has.
const TEST_KEYS: &[&str] = &["binary", "name", "verdict", "iters", "sites"];

impl Report {
    /// Parses a report written by [`Report::to_json`] (or by any
    /// version-1 writer); `origin` names the input in errors.
    pub fn from_json_bytes(data: &[u8], origin: &str) -> Result<Report, ReportError> {
        let report: Report = parse(ReportKind::Run, data, origin)?;
        if report.version != REPORT_VERSION {
            return Err(ReportError::Corrupt {
                kind: ReportKind::Run,
                origin: origin.to_owned(),
                reason: format!("format version {} is not valid", report.version),
            });
        }
        Ok(report)
    }

    /// Reads a report file.
    pub fn load(path: impl AsRef<Path>) -> Result<Report, ReportError> {
        load(ReportKind::Run, path.as_ref(), Report::from_json_bytes)
    }
}

impl TestReport {
    /// Parses a per-test report written by [`TestReport::to_json`] (or by
    /// plain serde: format 1 does not require the `version` key); `origin`
    /// names the input in errors.
    pub fn from_json_bytes(data: &[u8], origin: &str) -> Result<TestReport, ReportError> {
        parse(ReportKind::Test, data, origin)
    }

    /// Reads a per-test report file.
    pub fn load(path: impl AsRef<Path>) -> Result<TestReport, ReportError> {
        load(ReportKind::Test, path.as_ref(), TestReport::from_json_bytes)
    }
}

fn load<T>(
    kind: ReportKind,
    path: &Path,
    parse: fn(&[u8], &str) -> Result<T, ReportError>,
) -> Result<T, ReportError> {
    let data = fs::read(path).map_err(|source| ReportError::Io {
        kind,
        path: path.to_owned(),
        source,
    })?;
    parse(&data, &path.display().to_string())
}

fn parse<T: DeserializeOwned>(
    kind: ReportKind,
    data: &[u8],
    origin: &str,
) -> Result<T, ReportError> {
    let corrupt = |reason: String| ReportError::Corrupt {
        kind,
        origin: origin.to_owned(),
        reason,
    };
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(ReportError::Empty {
            kind,
            origin: origin.to_owned(),
        });
    }
    // A first pass as untyped JSON tells a broken file from one of another
    // shape, and finds the version before the fields of a newer format can
    // fail to parse.
    let value: Value = json::from_slice(data).map_err(|e| corrupt(json_error::reason(&e)))?;
    let own_keys = match kind {
        ReportKind::Run => RUN_KEYS,
        ReportKind::Test => TEST_KEYS,
    };
    let is_own = other_format(&value).is_none()
        && value
            .as_object()
            .is_some_and(|o| own_keys.iter().any(|k| o.contains_key(*k)));
    if !is_own {
        return Err(ReportError::NotAReport {
            kind,
            origin: origin.to_owned(),
            found: describe(&value),
        });
    }
    match value.get("version") {
        Some(v) if v.as_u64().is_some_and(|v| v > u64::from(REPORT_VERSION)) => {
            return Err(ReportError::Version {
                kind,
                origin: origin.to_owned(),
                found: v.as_u64().unwrap_or_default(),
                supported: REPORT_VERSION,
            });
        }
        // The run report's `version` is a typed field, checked by the caller.
        Some(v) if kind == ReportKind::Test && v.as_u64() != Some(u64::from(REPORT_VERSION)) => {
            return Err(corrupt(format!("format version {v} is not valid")));
        }
        _ => {}
    }
    // Parsed again from the bytes, not from `value`, so that a field of the
    // wrong type is reported with its line and column.
    json::from_slice(data).map_err(|e| corrupt(json_error::reason(&e)))
}

/// The name of another leakcheck file format, if `value` is one.
fn other_format(value: &Value) -> Option<&'static str> {
    match value.get("format")?.as_str()? {
        "leakcheck-snapshot" => Some("a leakcheck snapshot"),
        "leakcheck-session" => Some("a leakcheck session record"),
        _ => None,
    }
}

/// What a JSON document that is not the expected report holds.
fn describe(value: &Value) -> String {
    if let Some(format) = other_format(value) {
        return format.to_owned();
    }
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(o) if RUN_KEYS.iter().any(|k| o.contains_key(*k)) => {
            "a leakcheck report".into()
        }
        Value::Object(o) if TEST_KEYS.iter().any(|k| o.contains_key(*k)) => {
            "a leakcheck per-test report".into()
        }
        Value::Object(_) => "an object without a report's fields".into(),
    }
}
