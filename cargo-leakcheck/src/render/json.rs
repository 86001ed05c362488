//! Writing the machine report (`--json PATH`): `-` is stdout; a regular
//! file is replaced atomically; a symlink, FIFO or device (`/dev/stdout`)
//! is written through, never replaced.

use std::io::{self, Write};
use std::path::Path;

use leakcheck_format::report::{SessionReport, TestReport};
use serde::{Deserialize, Serialize};

use super::neutralise;
use crate::errors::Error;
use crate::outcome::{BinaryOutcome, RunOutcome, TestStatus};
use crate::partition::Partition;

/// A run's JSON report: the version 1 report, each `tests` entry with its
/// `status`, the shard's `partition` when the run was one, then
/// `binaries`, each binary's whole outcome, from which `cargo leakcheck
/// merge` rebuilds the run of several shards.
#[derive(Serialize)]
struct RunReport<'a> {
    version: u32,
    tests: Vec<TestEntry>,
    session: SessionReport,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unwinder: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<String>,
    binaries: &'a [BinaryOutcome],
}

/// A `tests` entry: the test's report and its status.
#[derive(Serialize)]
struct TestEntry {
    #[serde(flatten)]
    report: TestReport,
    status: TestStatus,
}

/// What `cargo leakcheck merge` reads of a run's JSON report.
#[derive(Deserialize)]
pub struct RunFile {
    /// The format version.
    pub version: u32,
    /// The shard the run was (`--partition`), if it was one.
    #[serde(default)]
    pub partition: Option<String>,
    /// Absent in a report not written by a run (`cargo leakcheck diff`'s).
    pub binaries: Option<Vec<BinaryOutcome>>,
}

/// Writes the JSON report of `outcome` (the shard `partition` of a run,
/// if it was one) to `path`, as [`write()`] does.
pub fn write_run(
    outcome: &RunOutcome,
    partition: Option<Partition>,
    path: &Path,
) -> Result<(), Error> {
    let report = outcome.to_report();
    let tests = outcome
        .test_entries()
        .into_iter()
        .map(|(report, status)| TestEntry { report, status })
        .collect();
    let report = RunReport {
        version: report.version,
        tests,
        session: report.session,
        unwinder: report.unwinder,
        partition: partition.map(|p| p.to_string()),
        binaries: &outcome.binaries,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("a report serialises");
    text.push('\n');
    write_text(&text, path)
}

/// `--json -`: the report goes to stdout (the human report is on stderr).
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The directory `path` will be written in.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks before the build that the report can be written at all, so a
/// typo in `--json` does not cost a whole run.
pub fn check_writable(path: &Path) -> Result<(), Error> {
    if is_stdout(path) {
        Ok(())
    } else if parent(path).is_dir() {
        super::file::check_target("JSON report", path)
    } else {
        Err(Error::JsonDirMissing(path.to_owned()))
    }
}

/// Writes `report` to `path`. A regular file (or a new one) is a temporary
/// file in the same directory, flushed to disk, then renamed over `path`: a
/// reader (or a run killed half-way) sees the old file or the whole new
/// one, never part of one. A symlink or a special file is opened and
/// written in place; `-` is stdout.
#[cfg(test)]
pub fn write(report: &leakcheck_format::report::Report, path: &Path) -> Result<(), Error> {
    write_text(&report.to_json(), path)
}

/// Writes a JSON value (a report with fields of its own, as `cargo
/// leakcheck diff` writes) to `path`, as [`write()`] does.
pub fn write_value(value: &serde_json::Value, path: &Path) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value serialises");
    text.push('\n');
    write_text(&text, path)
}

/// Writes the JSON `text`, made inert for a CI log first (a `##[`
/// workflow command in a test's name is written `#\u0023[`; see
/// [`neutralise::json_document`]).
fn write_text(text: &str, path: &Path) -> Result<(), Error> {
    let text = &neutralise::json_document(text);
    let written = if is_stdout(path) {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush())
    } else {
        leakcheck_format::report::write_file(path, text)
    };
    written.map_err(|source| Error::WriteReport {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use leakcheck_format::report::{
        Report, SessionReport, SessionSite, SessionVerdict, SiteReport, SiteVerdict, TestReport,
        TestVerdict,
    };

    use super::*;

    fn sample() -> Report {
        Report {
            version: 1,
            tests: vec![TestReport {
                binary: "leak".into(),
                name: "handle_request_retains_every_payload".into(),
                verdict: TestVerdict::Leak,
                iters: 10_000,
                sites: vec![SiteReport {
                    retained_by: Vec::new(),
                    file: "src/lib.rs".into(),
                    line: 10,
                    function: "fixture::handle_request".into(),
                    verdict: SiteVerdict::Leak,
                    bytes_per_iter: 1024.0,
                    blocks_per_iter: 1.0,
                    size_diff: 10_240_000,
                    count_diff: 10_000,
                    traceback: Vec::new(),
                    series: Vec::new(),
                    caller: None,
                }],
                error: None,
                warnings: Vec::new(),
            }],
            session: SessionReport {
                verdict: SessionVerdict::Growth,
                sites: vec![SessionSite {
                    retained_by: Vec::new(),
                    binary: "registry".into(),
                    file: "src/lib.rs".into(),
                    line: 7,
                    function: String::new(),
                    size_diff: 49_152,
                    count_diff: 12,
                    tests: vec!["plain_00".into(), "plain_01".into()],
                    growth: true,
                    known: None,
                    accepted: false,
                }],
            },
            unwinder: Vec::new(),
        }
    }

    #[test]
    fn writes_the_documented_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write(&sample(), &path).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["tests"][0]["verdict"], "leak");
        assert_eq!(value["tests"][0]["sites"][0]["bytes_per_iter"], 1024.0);
        assert_eq!(value["session"]["verdict"], "growth");
        assert_eq!(value["session"]["sites"][0]["tests"][1], "plain_01");
        let back: Report = serde_json::from_value(value).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn replaces_atomically_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        write(&sample(), &path).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
    }

    #[test]
    fn a_missing_directory_is_caught_early() {
        let err = check_writable(Path::new("/nonexistent-dir-for-leakcheck/r.json")).unwrap_err();
        assert_eq!(err.process_exit_code(), 2);
        assert!(check_writable(Path::new("r.json")).is_ok());
        assert!(check_writable(Path::new("-")).is_ok());
        let err = write(
            &sample(),
            Path::new("/nonexistent-dir-for-leakcheck/r.json"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to write the JSON report"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept.json");
        let link = dir.path().join("report.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write(&sample(), &link).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let back: Report =
            serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert_eq!(back, sample());
    }
}
