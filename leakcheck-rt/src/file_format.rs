//! The one loader of leakcheck's four file formats (snapshot, session
//! record, run report, per-test report) and its one error, which names the
//! format and the file.
//!
//! A file is classified in this order: empty (nothing but whitespace), not
//! JSON at all or cut short (corrupt, with the parser's line and column),
//! JSON of another shape (not this format, naming what it is), a newer
//! format version, and only then a field of the wrong type (corrupt
//! again).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::json::{self, Value};
use crate::json_error;
use crate::report::REPORT_VERSION;
use crate::session::SESSION_VERSION;
use crate::snapshot::SNAPSHOT_VERSION;

/// The `format` value of a snapshot file.
pub(crate) const SNAPSHOT_TAG: &str = "leakcheck-snapshot";
/// The `format` value of a session record.
pub(crate) const SESSION_TAG: &str = "leakcheck-session";

/// Which of leakcheck's files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A snapshot, [`Snapshot::dump`](crate::Snapshot::dump).
    Snapshot,
    /// What a test binary records at exit as a session under `cargo leakcheck`.
    SessionRecord,
    /// The whole run's report, `cargo leakcheck --json PATH`.
    Report,
    /// The file a test binary writes for one leak test under `cargo leakcheck`.
    TestReport,
}

impl FileKind {
    /// The `format` value that names the file, for the formats that have one.
    pub(crate) const fn format_tag(self) -> Option<&'static str> {
        match self {
            FileKind::Snapshot => Some(SNAPSHOT_TAG),
            FileKind::SessionRecord => Some(SESSION_TAG),
            FileKind::Report | FileKind::TestReport => None,
        }
    }

    /// The format version this crate writes and the newest it reads.
    const fn version(self) -> u32 {
        match self {
            FileKind::Snapshot => SNAPSHOT_VERSION,
            FileKind::SessionRecord => SESSION_VERSION,
            FileKind::Report | FileKind::TestReport => REPORT_VERSION,
        }
    }

    /// Top-level keys only this kind of report has (reports carry no
    /// `format` value).
    const fn own_keys(self) -> &'static [&'static str] {
        match self {
            FileKind::Report => &["tests", "session"],
            FileKind::TestReport => &["binary", "name", "verdict", "iters", "sites"],
            FileKind::Snapshot | FileKind::SessionRecord => &[],
        }
    }

    /// `true` when `value` is a file of this kind.
    fn is(self, value: &Value) -> bool {
        match self.format_tag() {
            Some(tag) => value.get("format").and_then(Value::as_str) == Some(tag),
            None => {
                tagged(value).is_none()
                    && value
                        .as_object()
                        .is_some_and(|o| self.own_keys().iter().any(|k| o.contains_key(*k)))
            }
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Snapshot => "snapshot",
            FileKind::SessionRecord => "session record",
            FileKind::Report => "report",
            FileKind::TestReport => "per-test report",
        })
    }
}

/// Why one of leakcheck's files could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read or written.
    #[error("failed to access {kind} file {path}: {source}")]
    Io {
        /// Which file.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file holds nothing but whitespace.
    #[error("{kind} {origin} is empty")]
    Empty {
        /// Which file.
        kind: FileKind,
        /// The file, or `data` for in-memory input.
        origin: String,
    },
    /// The file is not valid JSON, is cut short, or has a field of the
    /// wrong type or an impossible value.
    #[error("{kind} {origin} is corrupt or truncated: {reason}")]
    Corrupt {
        /// Which file.
        kind: FileKind,
        /// The file, or `data` for in-memory input.
        origin: String,
        /// What is wrong; the parser's message ends with its line and column.
        reason: String,
    },
    /// The file is valid JSON, but not this kind of file.
    #[error("{origin} is not a leakcheck {kind}: it is {found}")]
    WrongFormat {
        /// Which file was expected.
        kind: FileKind,
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
        /// Which file.
        kind: FileKind,
        /// The file, or `data` for in-memory input.
        origin: String,
        /// The version in the file.
        found: u64,
        /// The newest version this crate reads.
        supported: u32,
    },
}

impl FileError {
    /// Which file the error is about.
    pub fn kind(&self) -> FileKind {
        match self {
            FileError::Io { kind, .. }
            | FileError::Empty { kind, .. }
            | FileError::Corrupt { kind, .. }
            | FileError::WrongFormat { kind, .. }
            | FileError::Version { kind, .. } => *kind,
        }
    }
}

/// A [`FileError::Corrupt`].
pub(crate) fn corrupt(kind: FileKind, origin: &str, reason: String) -> FileError {
    FileError::Corrupt {
        kind,
        origin: origin.to_owned(),
        reason,
    }
}

/// Reads the file at `path` and parses it with `parse`, which names the
/// input by the path in its errors.
pub(crate) fn load<T>(
    kind: FileKind,
    path: &Path,
    parse: impl FnOnce(&[u8], &str) -> Result<T, FileError>,
) -> Result<T, FileError> {
    let data = std::fs::read(path).map_err(|source| FileError::Io {
        kind,
        path: path.to_owned(),
        source,
    })?;
    parse(&data, &path.display().to_string())
}

/// Writes `text` to `path` as leakcheck writes all its files (see
/// [`crate::atomic_file`]).
pub(crate) fn write(kind: FileKind, path: &Path, text: &str) -> Result<(), FileError> {
    crate::atomic_file::write(path, text).map_err(|source| FileError::Io {
        kind,
        path: path.to_owned(),
        source,
    })
}

/// Parses `data` as a file of `kind` into its file form `T`; `origin`
/// names the input in errors.
pub(crate) fn parse<T: DeserializeOwned>(
    kind: FileKind,
    data: &[u8],
    origin: &str,
) -> Result<T, FileError> {
    let corrupt = |reason: String| corrupt(kind, origin, reason);
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::Empty {
            kind,
            origin: origin.to_owned(),
        });
    }
    // A first pass as untyped JSON tells a broken file from one of another
    // shape, and finds the version before the fields of a newer format can
    // fail to parse.
    let value: Value = json::from_slice(data).map_err(|e| corrupt(json_error::reason(&e)))?;
    if !kind.is(&value) {
        return Err(FileError::WrongFormat {
            kind,
            origin: origin.to_owned(),
            found: describe(&value),
        });
    }
    let supported = kind.version();
    let version = value.get("version");
    match version.and_then(Value::as_u64) {
        Some(v) if v > u64::from(supported) => {
            return Err(FileError::Version {
                kind,
                origin: origin.to_owned(),
                found: v,
                supported,
            });
        }
        Some(v) if v >= 1 && (kind.format_tag().is_some() || v == u64::from(supported)) => {}
        // A report without `version` fails below, on the missing field; a
        // per-test report does not need one.
        None if version.is_none() && kind.format_tag().is_none() => {}
        _ => {
            return Err(corrupt(match (kind.format_tag(), version) {
                (None, Some(v)) => format!("format version {v} is not valid"),
                _ => "missing or invalid format version".into(),
            }));
        }
    }
    // Parsed again from the bytes, not from `value`, so that a field of the
    // wrong type is reported with its line and column.
    json::from_slice(data).map_err(|e| corrupt(json_error::reason(&e)))
}

/// The leakcheck file a `format` value names, if any.
fn tagged(value: &Value) -> Option<FileKind> {
    let tag = value.get("format")?.as_str()?;
    [FileKind::Snapshot, FileKind::SessionRecord]
        .into_iter()
        .find(|kind| kind.format_tag() == Some(tag))
}

/// What a JSON document that is not the expected file holds.
fn describe(value: &Value) -> String {
    if let Some(kind) = tagged(value) {
        return format!("a leakcheck {kind}");
    }
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => [FileKind::Report, FileKind::TestReport]
            .into_iter()
            .find(|kind| kind.is(value))
            .map_or("an object of no leakcheck format".into(), |kind| {
                format!("a leakcheck {kind}")
            }),
    }
}
