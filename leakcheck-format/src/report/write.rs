//! Writing the report files: pretty JSON, replaced atomically so that a
//! writer killed half-way never leaves half a file behind.

use std::path::Path;

use serde::Serialize;

use super::model::{REPORT_VERSION, Report, TestReport};
use crate::atomic_file;
use crate::file_format::{self, FileError, FileKind};
use crate::json;

/// The per-test file carries the format version beside the report's own
/// fields, so that a later format can be told apart.
#[derive(Serialize)]
struct VersionedTest<'a> {
    version: u32,
    #[serde(flatten)]
    report: &'a TestReport,
}

impl Report {
    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        pretty(self)
    }

    /// Writes [`Report::to_json`] to `path` atomically: a reader, or a run
    /// killed half-way, sees the old file or the whole new one.
    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<(), FileError> {
        file_format::write(FileKind::Report, path.as_ref(), self.to_json())
    }
}

impl TestReport {
    /// The per-test report as pretty JSON with its format version and a
    /// final newline.
    pub fn to_json(&self) -> String {
        pretty(&VersionedTest {
            version: REPORT_VERSION,
            report: self,
        })
    }

    /// Writes [`TestReport::to_json`] to `path` atomically.
    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<(), FileError> {
        file_format::write(FileKind::TestReport, path.as_ref(), self.to_json())
    }
}

/// Writes `text` to `path` as leakcheck writes all its files: a regular
/// file (or a new one) is replaced atomically, through a temporary file in
/// the same directory; a symlink, FIFO or device (`/dev/stdout`) is opened
/// and written through, never replaced. For tools that write reports of
/// their own beside leakcheck's (`cargo leakcheck`'s JUnit and HTML).
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    atomic_file::write(path, text)
}

fn pretty(value: &impl Serialize) -> String {
    // Serialising plain structs of strings and numbers cannot fail; a
    // non-finite rate would be written as `null` and fail to load.
    let mut text = json::to_string_pretty(value).expect("a report always serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::{SessionReport, SessionVerdict, TestVerdict};

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old").unwrap();
        let report = Report {
            version: REPORT_VERSION,
            tests: Vec::new(),
            session: SessionReport {
                verdict: SessionVerdict::Clean,
                sites: Vec::new(),
            },
            unwinder: Vec::new(),
        };
        report.write_atomic(&path).unwrap();
        assert_eq!(Report::load(&path).unwrap(), report);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn test_report_carries_its_version() {
        let report = TestReport {
            binary: "leak".into(),
            name: "t".into(),
            verdict: TestVerdict::Clean,
            iters: 10,
            sites: Vec::new(),
            error: None,
            warnings: Vec::new(),
        };
        let json = report.to_json();
        assert!(json.contains("\"version\": 1"), "{json}");
        let back = TestReport::from_json_bytes(json.as_bytes(), "data").unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn write_into_a_missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/report.json");
        let err = Report {
            version: REPORT_VERSION,
            tests: Vec::new(),
            session: SessionReport {
                verdict: SessionVerdict::Clean,
                sites: Vec::new(),
            },
            unwinder: Vec::new(),
        }
        .write_atomic(&path)
        .unwrap_err();
        assert!(matches!(err, FileError::Io { .. }), "{err}");
        assert!(err.to_string().contains("no/such/report.json"), "{err}");
    }
}
