//! Running one leak test alone in a process of its test binary, and
//! reading back the per-test report it wrote: what `cargo leakcheck` does
//! for every leak test of a session ([`Mode::Measure`]), and what a leak
//! test under libtest's parallel runner does for itself ([`Mode::Child`]).

use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::Path;

use super::env::{MODE, Mode, REPORT, SESSION};
use crate::file_format::FileError;
use crate::report::TestReport;

/// The libtest flags a run alone sets itself; a runner passing on its
/// user's arguments drops these (libtest rejects a flag given twice).
pub const OWNED_FLAGS: [&str; 3] = ["--test-threads", "--exact", "--nocapture"];

/// Variables a run alone must not inherit: a child of a session run is
/// not part of the session.
pub const ENV_REMOVED: [&str; 1] = [SESSION];

/// One leak test to run alone.
#[derive(Debug, Clone, Copy)]
pub struct AloneRun<'a> {
    /// The test's full name, as libtest lists it.
    pub test: &'a str,
    /// What the run does once it has measured.
    pub mode: Mode,
    /// Where it writes its report (removed once read).
    pub report: &'a Path,
}

/// A finished run alone.
#[derive(Debug)]
pub struct Finished<O> {
    /// What the process left: its status and output.
    pub output: O,
    /// Its report: `None` when it wrote none.
    pub report: Option<Result<TestReport, FileError>>,
}

impl AloneRun<'_> {
    /// The libtest arguments that run the test alone, on one thread, with
    /// its output shown (the runner reads its panics).
    pub fn args(&self) -> Vec<OsString> {
        vec![
            self.test.into(),
            "--exact".into(),
            "--test-threads=1".into(),
            "--nocapture".into(),
        ]
    }

    /// The variables that tell the test binary to measure and where to
    /// write the report.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        vec![
            (MODE.into(), self.mode.as_str().into()),
            (REPORT.into(), self.report.into()),
        ]
    }

    /// Runs the test: `start` runs the test binary with [`Self::args`]
    /// (to which it may add) and [`Self::env`] set, and waits for it; the
    /// report is read back and removed, also when `start` fails.
    pub fn run<O>(
        &self,
        start: impl FnOnce(Vec<OsString>, Vec<(OsString, OsString)>) -> io::Result<O>,
    ) -> io::Result<Finished<O>> {
        let output = start(self.args(), self.env());
        let report = self.report.exists().then(|| TestReport::load(self.report));
        let _ = std::fs::remove_file(self.report);
        Ok(Finished {
            output: output?,
            report,
        })
    }
}

/// A file name for a test's report, distinct for every test name: test
/// names hold `::` and any Unicode letter, so the readable part (ASCII,
/// cut short) is followed by a hash of the whole name.
pub fn report_file_name(test: &str) -> String {
    let safe: String = test
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    test.hash(&mut hasher);
    format!("report-{safe}-{:016x}.json", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TestVerdict;

    #[test]
    fn report_files_are_safe_names() {
        let name = report_file_name("tests::a b");
        assert!(name.starts_with("report-tests--a-b-"), "{name}");
        assert!(name.ends_with(".json"), "{name}");
        assert_eq!(report_file_name("tests::a b"), name);
    }

    #[test]
    fn report_files_of_names_that_differ_only_in_non_ascii_letters_differ() {
        assert_ne!(report_file_name("über_leak"), report_file_name("öber_leak"));
        assert_ne!(report_file_name("a::b"), report_file_name("a:-b"));
        let long = "m::".repeat(200) + "t";
        assert!(
            report_file_name(&long).len() < 100,
            "{}",
            report_file_name(&long)
        );
        assert_ne!(
            report_file_name(&long),
            report_file_name(&(long.clone() + "u"))
        );
    }

    #[test]
    fn the_run_selects_the_test_and_reads_its_report_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let run = AloneRun {
            test: "tests::leaky",
            mode: Mode::Measure,
            report: &path,
        };
        let finished = run
            .run(|args, env| {
                assert_eq!(
                    args,
                    ["tests::leaky", "--exact", "--test-threads=1", "--nocapture"]
                );
                assert_eq!(env[0], ("LEAKCHECK_MODE".into(), "measure".into()));
                assert_eq!(env[1], ("LEAKCHECK_REPORT".into(), path.clone().into()));
                let report = TestReport {
                    binary: String::new(),
                    name: "tests::leaky".into(),
                    verdict: TestVerdict::Leak,
                    iters: 10,
                    sites: Vec::new(),
                    error: None,
                    warnings: Vec::new(),
                };
                report.write_atomic(&path).unwrap();
                Ok(7)
            })
            .unwrap();
        assert_eq!(finished.output, 7);
        let report = finished.report.unwrap().unwrap();
        assert_eq!(report.verdict, TestVerdict::Leak);
        assert!(!path.exists(), "the report is removed once read");
    }

    #[test]
    fn no_report_and_a_failed_start_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let run = AloneRun {
            test: "t",
            mode: Mode::Child,
            report: &path,
        };
        assert!(run.run(|_, _| Ok(())).unwrap().report.is_none());
        let err = run
            .run(|_, _| -> io::Result<()> {
                std::fs::write(&path, "{").unwrap();
                Err(io::Error::other("no such binary"))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "no such binary");
        assert!(!path.exists());
        std::fs::write(&path, "not json").unwrap();
        assert!(run.run(|_, _| Ok(())).unwrap().report.unwrap().is_err());
    }
}
