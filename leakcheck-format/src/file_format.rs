//! The one loader of leakcheck's four file formats (snapshot, session
//! record, run report, per-test report) and its one error, which names the
//! format and the file; the error also names pprof profiles, which
//! [`crate::pprof`] reads and writes.
//!
//! A file is classified in this order: empty (nothing but whitespace), not
//! JSON at all or cut short (corrupt, with the parser's line and column),
//! JSON of another shape (not this format, naming what it is), a newer
//! format version, and only then a field of the wrong type (corrupt
//! again).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use std::borrow::Cow;

use serde::de::{self, Deserialize, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::{self, Value};
use crate::json_error;

/// The snapshot file format version this crate writes and the newest it reads.
pub const SNAPSHOT_VERSION: u32 = 1;
/// The session record format version this crate writes and the newest it reads.
pub const SESSION_VERSION: u32 = 1;
/// The report format version this crate writes and the newest it reads.
pub const REPORT_VERSION: u32 = 1;

/// The `format` value of a snapshot file.
pub const SNAPSHOT_TAG: &str = "leakcheck-snapshot";
/// The `format` value of a session record.
pub const SESSION_TAG: &str = "leakcheck-session";

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
    /// A pprof heap profile (`profile.proto`, gzip'd or not), read and
    /// written by [`crate::pprof`]: not JSON, so never parsed here.
    Pprof,
}

impl FileKind {
    /// The `format` value that names the file, for the formats that have one.
    pub const fn format_tag(self) -> Option<&'static str> {
        match self {
            FileKind::Snapshot => Some(SNAPSHOT_TAG),
            FileKind::SessionRecord => Some(SESSION_TAG),
            FileKind::Report | FileKind::TestReport | FileKind::Pprof => None,
        }
    }

    /// The format version this crate writes and the newest it reads.
    const fn version(self) -> u32 {
        match self {
            FileKind::Snapshot => SNAPSHOT_VERSION,
            FileKind::SessionRecord => SESSION_VERSION,
            FileKind::Report | FileKind::TestReport => REPORT_VERSION,
            FileKind::Pprof => 0,
        }
    }

    /// Top-level keys only this kind of report has (reports carry no
    /// `format` value).
    const fn own_keys(self) -> &'static [&'static str] {
        match self {
            FileKind::Report => &["tests", "session"],
            FileKind::TestReport => &["binary", "name", "verdict", "iters", "sites"],
            FileKind::Snapshot | FileKind::SessionRecord | FileKind::Pprof => &[],
        }
    }

    /// `true` when `head` is the head of a file of this kind.
    fn is(self, head: &Head) -> bool {
        match self.format_tag() {
            Some(tag) => head.format() == Some(tag),
            None => {
                tagged(head).is_none()
                    && match head {
                        Head::Object { keys, .. } => self
                            .own_keys()
                            .iter()
                            .any(|k| keys.iter().any(|key| key == k)),
                        _ => false,
                    }
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
            FileKind::Pprof => "pprof profile",
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
pub fn corrupt(kind: FileKind, origin: &str, reason: String) -> FileError {
    FileError::Corrupt {
        kind,
        origin: origin.to_owned(),
        reason,
    }
}

/// Reads the file at `path` and parses it with `parse`, which names the
/// input by the path in its errors.
pub fn load<T>(
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
pub fn write(kind: FileKind, path: &Path, text: impl AsRef<[u8]>) -> Result<(), FileError> {
    crate::atomic_file::write(path, text).map_err(|source| FileError::Io {
        kind,
        path: path.to_owned(),
        source,
    })
}

/// Parses `data` as a file of `kind` into its file form `T`; `origin`
/// names the input in errors.
pub fn parse<T: DeserializeOwned>(
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
    // A first pass checks the whole file as JSON, to tell a broken file
    // from one of another shape, and finds the version before the fields of
    // a newer format can fail to parse. It keeps only the top level's few
    // keys that tell the formats apart: a large file is not held twice.
    let head: Head = json::from_slice(data).map_err(|e| corrupt(json_error::reason(&e)))?;
    if !kind.is(&head) {
        return Err(FileError::WrongFormat {
            kind,
            origin: origin.to_owned(),
            found: describe(&head),
        });
    }
    let supported = kind.version();
    let version = match &head {
        Head::Object { version, .. } => version.as_ref(),
        _ => None,
    };
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
fn tagged(head: &Head) -> Option<FileKind> {
    let tag = head.format()?;
    [FileKind::Snapshot, FileKind::SessionRecord]
        .into_iter()
        .find(|kind| kind.format_tag() == Some(tag))
}

/// What a JSON document that is not the expected file holds.
fn describe(head: &Head) -> String {
    if let Some(kind) = tagged(head) {
        return format!("a leakcheck {kind}");
    }
    match head {
        Head::Null => "null".into(),
        Head::Bool => "a boolean".into(),
        Head::Number => "a number".into(),
        Head::String => "a string".into(),
        Head::Array => "an array".into(),
        Head::Object { .. } => [FileKind::Report, FileKind::TestReport]
            .into_iter()
            .find(|kind| kind.is(head))
            .map_or("an object of no leakcheck format".into(), |kind| {
                format!("a leakcheck {kind}")
            }),
    }
}

/// A JSON document as the first pass of [`parse`] keeps it: what kind of
/// value it is and, of an object, its `format` and `version` and which of
/// the keys that tell reports apart it has. Everything else is read (and
/// so checked) and dropped.
#[derive(Debug, PartialEq)]
enum Head {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object {
        /// The last `format` value (of a repeated key the last counts).
        format: Option<Value>,
        /// The last `version` value.
        version: Option<Value>,
        /// The keys of [`FileKind::own_keys`] that the object has.
        keys: Vec<&'static str>,
    },
}

impl Head {
    /// The `format` value, if this is an object whose `format` is a string.
    fn format(&self) -> Option<&str> {
        match self {
            Head::Object { format, .. } => format.as_ref()?.as_str(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Head {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Head, D::Error> {
        d.deserialize_any(HeadVisitor)
    }
}

struct HeadVisitor;

impl<'de> Visitor<'de> for HeadVisitor {
    type Value = Head;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Head, E> {
        Ok(Head::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Head, E> {
        Ok(Head::Number)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Head, E> {
        Ok(Head::Number)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Head, E> {
        Ok(Head::Number)
    }
    fn visit_str<E>(self, _: &str) -> Result<Head, E> {
        Ok(Head::String)
    }
    fn visit_unit<E>(self) -> Result<Head, E> {
        Ok(Head::Null)
    }
    fn visit_none<E>(self) -> Result<Head, E> {
        Ok(Head::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Head, D::Error> {
        Head::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Head, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Head::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        let (mut format, mut version, mut keys) = (None, None, Vec::new());
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "format" => format = Some(map.next_value::<Value>()?),
                "version" => version = Some(map.next_value::<Value>()?),
                other => {
                    if let Some(&own) = [FileKind::Report, FileKind::TestReport]
                        .iter()
                        .flat_map(|kind| kind.own_keys())
                        .find(|k| **k == other)
                        && !keys.contains(&own)
                    {
                        keys.push(own);
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Head::Object {
            format,
            version,
            keys,
        })
    }
}
