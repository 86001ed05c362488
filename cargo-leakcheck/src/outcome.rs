//! What a run found, binary by binary, and the exit code it implies.

use std::cmp::Reverse;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use leakcheck_format::report::{
    REPORT_VERSION, Report, SessionReport, SessionSite, SessionVerdict, TestReport, TestVerdict,
};

use crate::errors::exit_codes;

/// What one session left behind, by site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionAnalysis {
    /// Sites that held memory left by tests, growth first, then biggest.
    pub sites: Vec<SessionSite>,
    /// Live bytes and blocks that no test allocated (harness and start-up
    /// memory, or stacks cut off before the test's frame); not judged.
    pub unattributed: (u64, u64),
    /// Live bytes and blocks of std's own symbolisation cache (filled by
    /// panics under `RUST_BACKTRACE` and by formatting a `Backtrace`);
    /// never judged.
    pub std_caches: (u64, u64),
}

impl SessionAnalysis {
    /// `true` when some site is session growth that fails the run.
    pub fn has_growth(&self) -> bool {
        self.sites.iter().any(SessionSite::fails)
    }
}

/// Growth first, then the biggest, then by place: the same order every run.
pub fn sort_sites(sites: &mut [SessionSite]) {
    sites.sort_by(|a, b| {
        let key = |s: &SessionSite| {
            (
                !s.fails(),
                !s.growth,
                Reverse(s.size_diff),
                Reverse(s.count_diff),
                s.binary.clone(),
                s.file.clone(),
                s.line,
            )
        };
        key(a).cmp(&key(b))
    });
}

/// How one `#[leak_test]` ended, in its own process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeakStatus {
    /// Nothing grew with the iteration count.
    Clean,
    /// It leaks, and the leak matches the snapshot the team accepted (the
    /// test passed): not a failure.
    Accepted,
    /// A new leak, or one that grew past its accepted snapshot (the test
    /// failed).
    Leak,
    /// The test failed for another reason, e.g. its body panicked.
    Failed,
    /// It could not be measured: crashed, timed out, or wrote no readable
    /// report.
    Fault,
}

impl LeakStatus {
    /// `true` when the test did not pass: a new or grown leak, a failure
    /// or a fault.
    pub fn fails(self) -> bool {
        matches!(
            self,
            LeakStatus::Leak | LeakStatus::Failed | LeakStatus::Fault
        )
    }
}

/// The `status` of a `tests[]` entry of the JSON report: with it, a
/// consumer rebuilds the exit code from the report alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// A leak with no accepted snapshot: fails the run (exit 1).
    New,
    /// A leak that grew past (or changed from) its accepted snapshot:
    /// fails the run (exit 1).
    Grown,
    /// A leak that matches its accepted snapshot: passes.
    Accepted,
    /// Nothing grew: passes.
    Clean,
    /// A test that failed for another reason: fails the run (exit 1).
    Failed,
    /// What could not be checked (a crash, a time-out): exit 4.
    Error,
}

/// One leak test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakTestOutcome {
    /// How it ended.
    pub status: LeakStatus,
    /// Its report (for a fault or failure, verdict `error` with the reason).
    pub report: TestReport,
    /// Output that explains a failure or fault, if any.
    pub detail: Option<String>,
    /// For a [`LeakStatus::Leak`]: `true` when the test has an accepted
    /// leak snapshot that the leak grew past (or changed from), `false` for
    /// a new leak.
    #[serde(default)]
    pub grown: bool,
    /// How the report stands against the accepted leak snapshot, as the
    /// human report says it: the accepted sites that moved
    /// (`accepted site moved: src/lib.rs:68 → 69`) and, for a leak, what
    /// differs. Not part of the JSON report.
    #[serde(skip)]
    pub snapshot: Vec<String>,
    /// The wall time of its process (none in a merged run: the JSON report
    /// is normalised, so it carries no times).
    #[serde(skip)]
    pub duration: Option<Duration>,
}

/// One test binary's result; the `binaries` of the JSON report, from
/// which `cargo leakcheck merge` rebuilds a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BinaryOutcome {
    /// The binary's name as reports show it.
    pub binary: String,
    /// `false` when the binary wrote no session record: it does not call
    /// `leakcheck_rt::install!()`. Its tests still ran.
    pub instrumented: bool,
    /// Where the binary's own `#[global_allocator]` is, when it has one:
    /// leakcheck's could not go in beside it, so it ran untracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_allocator: Option<String>,
    /// Why leakcheck's runtime could not go into the binary (a
    /// `#![no_std]` or `#![no_main]` crate root): it ran untracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
    /// `true` when the binary has no tests to run (a library's empty
    /// unit-test target): nothing to instrument, nothing to list.
    pub no_tests: bool,
    /// `true` when its `main` is not a libtest harness (a `harness = false`
    /// target with a runner of its own): it ran as `cargo test` runs it,
    /// judged by its exit status, with no tests to list or tell apart.
    pub own_main: bool,
    /// Why the binary could not be checked (crash, timeout, ...).
    pub fault: Option<String>,
    /// Ordinary tests that failed in the session run, in run order.
    pub failed_tests: Vec<String>,
    /// Tests the session ran (passed or failed, as libtest counts them).
    pub tests_run: usize,
    /// Tests that passed in the session.
    pub tests_passed: usize,
    /// Tests the session skipped as ignored (libtest's `N ignored`).
    #[serde(default)]
    pub tests_ignored: usize,
    /// Leak tests that failed in the session run (each is reported by its
    /// own run, in `leak_tests`; the session's counts hold them as failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_leak_tests: Vec<String>,
    /// Output that explains the fault or the failures.
    pub detail: Option<String>,
    /// What the session left behind.
    pub session: SessionAnalysis,
    /// The leak tests, each run in a process of its own.
    pub leak_tests: Vec<LeakTestOutcome>,
    /// `true` when the binary found its frame-pointer walk wrong and took
    /// its stacks with the DWARF unwinder (slow, but right).
    pub unwinder: bool,
    /// The shared libraries its stacks ended in, for want of frame pointers
    /// (as its session said on stderr), each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_frame_pointers: Vec<String>,
    /// The wall time of its session run, its test listing included (none
    /// in a merged run, as [`LeakTestOutcome::duration`]).
    #[serde(skip)]
    pub session_duration: Option<Duration>,
}

impl BinaryOutcome {
    /// Ran tests without leakcheck's allocator, and nothing went wrong.
    pub fn is_uninstrumented(&self) -> bool {
        !self.instrumented && !self.no_tests && self.fault.is_none() && self.own_allocator.is_none()
    }
}

/// Everything a run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    /// One entry per test binary, in a stable order.
    pub binaries: Vec<BinaryOutcome>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Leak tests run.
    pub leak_tests: usize,
    /// Leak tests where nothing grew.
    pub clean: usize,
    /// New or grown leaks.
    pub leaks: usize,
    /// Leaks that match their accepted snapshot.
    pub accepted: usize,
    /// Failing tests, ordinary or leak tests.
    pub failed: usize,
    /// Session sites with growth.
    pub growth_sites: usize,
    /// Session sites with a one-time cost.
    pub one_time_sites: usize,
    /// Session sites whose growth the team accepted.
    pub accepted_sites: usize,
    /// Binaries or leak tests that could not be checked.
    pub faults: usize,
    /// Test binaries run.
    pub binaries: usize,
    /// Test binaries whose session was measured without a fault.
    pub checked: usize,
    /// Test binaries without leakcheck.
    pub not_instrumented: usize,
    /// Ordinary tests the sessions ran.
    pub tests_run: usize,
    /// Ordinary tests that passed in the sessions.
    pub tests_passed: usize,
    /// Ordinary tests the sessions skipped as ignored.
    pub tests_skipped: usize,
}

impl RunOutcome {
    /// The counts for the summary.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            binaries: self.binaries.len(),
            ..Summary::default()
        };
        for b in &self.binaries {
            s.not_instrumented += usize::from(b.is_uninstrumented());
            s.faults += usize::from(b.fault.is_some());
            s.checked += usize::from(b.instrumented && b.fault.is_none());
            s.failed += b.failed_tests.len();
            s.tests_run += b.tests_run;
            s.tests_passed += b.tests_passed;
            s.tests_skipped += b.tests_ignored;
            for site in &b.session.sites {
                if site.fails() {
                    s.growth_sites += 1;
                } else if site.accepted {
                    s.accepted_sites += 1;
                } else if site.known.is_none() {
                    s.one_time_sites += 1;
                }
            }
            for t in &b.leak_tests {
                s.leak_tests += 1;
                // The session ran each leak test once as an ordinary test
                // (warm-up only, so it passed there); its verdict is its
                // own run's, as nextest counts it.
                let session_passed = !b.failed_leak_tests.contains(&t.report.name);
                if t.status.fails() && session_passed && s.tests_passed > 0 {
                    s.tests_passed -= 1;
                }
                match t.status {
                    LeakStatus::Clean => s.clean += 1,
                    LeakStatus::Accepted => s.accepted += 1,
                    LeakStatus::Leak => s.leaks += 1,
                    LeakStatus::Failed => s.failed += 1,
                    LeakStatus::Fault => s.faults += 1,
                }
            }
        }
        s
    }

    /// The exit code of this outcome (see [`exit_codes`] for the order).
    pub fn exit_code(&self) -> i32 {
        let s = self.summary();
        let mut code = exit_codes::OK;
        if s.leaks + s.failed + s.growth_sites > 0 {
            code = exit_codes::worst(code, exit_codes::LEAK_FOUND);
        }
        if s.faults > 0 {
            code = exit_codes::worst(code, exit_codes::BINARY_FAILED);
        }
        code
    }

    /// The `tests` entries of the machine report with their status,
    /// sorted by binary and name.
    pub fn test_entries(&self) -> Vec<(TestReport, TestStatus)> {
        let mut tests: Vec<(TestReport, TestStatus)> = Vec::new();
        for b in &self.binaries {
            if let Some(reason) = &b.fault {
                tests.push((
                    error_entry(&b.binary, SESSION_ENTRY, reason),
                    TestStatus::Error,
                ));
            }
            for name in &b.failed_tests {
                tests.push((
                    error_entry(&b.binary, name, "the test failed"),
                    TestStatus::Failed,
                ));
            }
            for t in &b.leak_tests {
                let status = match t.status {
                    LeakStatus::Clean => TestStatus::Clean,
                    LeakStatus::Accepted => TestStatus::Accepted,
                    LeakStatus::Leak if t.grown => TestStatus::Grown,
                    LeakStatus::Leak => TestStatus::New,
                    LeakStatus::Failed => TestStatus::Failed,
                    LeakStatus::Fault => TestStatus::Error,
                };
                tests.push((t.report.clone(), status));
            }
        }
        tests.sort_by(|(a, _), (b, _)| (&a.binary, &a.name).cmp(&(&b.binary, &b.name)));
        tests
    }

    /// The machine report (version 1): tests sorted by binary and name,
    /// session sites growth first.
    pub fn to_report(&self) -> Report {
        let tests: Vec<TestReport> = self.test_entries().into_iter().map(|(t, _)| t).collect();
        let mut sites = Vec::new();
        for b in &self.binaries {
            sites.extend(b.session.sites.iter().cloned());
        }
        sort_sites(&mut sites);
        let verdict = if sites.iter().any(SessionSite::fails) {
            SessionVerdict::Growth
        } else {
            SessionVerdict::Clean
        };
        Report {
            version: REPORT_VERSION,
            tests,
            session: SessionReport { verdict, sites },
            unwinder: self
                .binaries
                .iter()
                .filter(|b| b.unwinder)
                .map(|b| b.binary.clone())
                .collect(),
        }
    }
}

/// What a run that checked nothing is, under `--no-tests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NothingChecked {
    /// Why the run checked nothing, as a fragment (`no tests to run`).
    pub reason: String,
}

impl RunOutcome {
    /// `Some` when the run checked nothing, as nextest's "no tests to run":
    /// no test binary, no test (the `filter`, if any, matched none), or no
    /// binary that leakcheck measured. A run where something could not be
    /// checked says so with its faults instead.
    pub fn nothing_checked(&self, filter: Option<&str>) -> Option<NothingChecked> {
        let s = self.summary();
        let own_main = self.binaries.iter().any(|b| b.own_main);
        let reason = if s.faults > 0 {
            return None;
        } else if s.binaries == 0 {
            "no test binary to run".to_owned()
        } else if s.tests_run == 0 && s.leak_tests == 0 && !own_main {
            match filter {
                Some(f) => format!("no tests to run: no test name contains `{f}`"),
                None => "no tests to run".to_owned(),
            }
        } else if s.checked == 0 {
            format!(
                "no binary was checked: {} ran, none measured by leakcheck",
                plural(s.binaries, "binary", "binaries")
            )
        } else {
            return None;
        };
        Some(NothingChecked { reason })
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The test name of the JSON entry for a binary whose session run failed.
pub const SESSION_ENTRY: &str = "(session)";

/// A `tests` entry with verdict `error`.
pub fn error_entry(binary: &str, name: &str, reason: &str) -> TestReport {
    TestReport {
        binary: binary.to_owned(),
        name: name.to_owned(),
        verdict: TestVerdict::Error,
        iters: 0,
        sites: Vec::new(),
        error: Some(reason.to_owned()),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use leakcheck_format::report::SessionSite;

    use super::*;
    use crate::errors::exit_codes::*;

    fn leak_test(status: LeakStatus) -> LeakTestOutcome {
        LeakTestOutcome {
            status,
            report: error_entry("b", "t", "x"),
            detail: None,
            grown: false,
            snapshot: Vec::new(),
            duration: None,
        }
    }

    fn binary(f: impl FnOnce(&mut BinaryOutcome)) -> RunOutcome {
        let mut b = BinaryOutcome {
            binary: "b".into(),
            instrumented: true,
            ..BinaryOutcome::default()
        };
        f(&mut b);
        RunOutcome { binaries: vec![b] }
    }

    fn site(growth: bool) -> SessionSite {
        SessionSite {
            retained_by: Vec::new(),
            binary: "b".into(),
            file: "src/lib.rs".into(),
            line: 7,
            function: "f".into(),
            size_diff: 10,
            count_diff: 1,
            tests: vec!["a".into()],
            growth,
            known: None,
            accepted: false,
        }
    }

    #[test]
    fn exit_codes_follow_the_findings() {
        let cases: Vec<(&str, RunOutcome, i32)> = vec![
            ("nothing", RunOutcome::default(), OK),
            (
                "clean",
                binary(|b| b.leak_tests.push(leak_test(LeakStatus::Clean))),
                OK,
            ),
            (
                "accepted leak",
                binary(|b| b.leak_tests.push(leak_test(LeakStatus::Accepted))),
                OK,
            ),
            (
                "one-time cost",
                binary(|b| b.session.sites.push(site(false))),
                OK,
            ),
            ("not instrumented", binary(|b| b.instrumented = false), OK),
            (
                "new leak",
                binary(|b| b.leak_tests.push(leak_test(LeakStatus::Leak))),
                LEAK_FOUND,
            ),
            (
                "failed leak test",
                binary(|b| b.leak_tests.push(leak_test(LeakStatus::Failed))),
                LEAK_FOUND,
            ),
            (
                "session growth",
                binary(|b| b.session.sites.push(site(true))),
                LEAK_FOUND,
            ),
            (
                "failed test",
                binary(|b| b.failed_tests.push("x".into())),
                LEAK_FOUND,
            ),
            (
                "crash",
                binary(|b| b.fault = Some("killed by signal 6".into())),
                BINARY_FAILED,
            ),
            (
                "leak test crash",
                binary(|b| b.leak_tests.push(leak_test(LeakStatus::Fault))),
                BINARY_FAILED,
            ),
            (
                "crash beats leak",
                binary(|b| {
                    b.fault = Some("timed out".into());
                    b.leak_tests.push(leak_test(LeakStatus::Leak));
                }),
                BINARY_FAILED,
            ),
        ];
        for (what, outcome, code) in cases {
            assert_eq!(outcome.exit_code(), code, "{what}");
        }
    }

    #[test]
    fn a_leak_test_that_fails_is_a_failed_test_in_the_counts() {
        // The session ran all 11 tests, the leak test among them (warm-up
        // only: it passed there); its own run leaked.
        let outcome = binary(|b| {
            b.tests_run = 11;
            b.tests_passed = 11;
            b.leak_tests.push(leak_test(LeakStatus::Leak));
            b.leak_tests.push(leak_test(LeakStatus::Clean));
        });
        let s = outcome.summary();
        assert_eq!((s.tests_run, s.tests_passed), (11, 10));
        // One that failed in the session too is counted once.
        let outcome = binary(|b| {
            b.tests_run = 11;
            b.tests_passed = 10;
            b.failed_leak_tests = vec!["t".into()];
            b.leak_tests.push(leak_test(LeakStatus::Failed));
        });
        let s = outcome.summary();
        assert_eq!((s.tests_run, s.tests_passed), (11, 10));
    }

    #[test]
    fn each_entry_s_status_gives_the_exit_code() {
        let cases = [
            (LeakStatus::Clean, false, TestStatus::Clean, OK),
            (LeakStatus::Accepted, false, TestStatus::Accepted, OK),
            (LeakStatus::Leak, false, TestStatus::New, LEAK_FOUND),
            (LeakStatus::Leak, true, TestStatus::Grown, LEAK_FOUND),
            (LeakStatus::Failed, false, TestStatus::Failed, LEAK_FOUND),
            (LeakStatus::Fault, false, TestStatus::Error, BINARY_FAILED),
        ];
        for (status, grown, entry, code) in cases {
            let outcome = binary(|b| {
                let mut t = leak_test(status);
                t.grown = grown;
                b.leak_tests.push(t);
            });
            let entries = outcome.test_entries();
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].1, entry, "{status:?}");
            assert_eq!(outcome.exit_code(), code, "{status:?}");
        }
        let outcome = binary(|b| {
            b.fault = Some("timed out".into());
            b.failed_tests.push("plain".into());
        });
        let statuses: Vec<(String, TestStatus)> = outcome
            .test_entries()
            .into_iter()
            .map(|(t, s)| (t.name, s))
            .collect();
        assert_eq!(
            statuses,
            [
                (SESSION_ENTRY.to_owned(), TestStatus::Error),
                ("plain".to_owned(), TestStatus::Failed)
            ]
        );
    }

    #[test]
    fn a_run_that_checked_nothing_says_why() {
        let reason = |o: &RunOutcome, filter| o.nothing_checked(filter).map(|n| n.reason);
        assert_eq!(
            reason(&RunOutcome::default(), None).as_deref(),
            Some("no test binary to run")
        );
        let none_ran = binary(|_| {});
        assert_eq!(
            reason(&none_ran, Some("typo")).as_deref(),
            Some("no tests to run: no test name contains `typo`")
        );
        assert_eq!(reason(&none_ran, None).as_deref(), Some("no tests to run"));
        let uninstrumented = binary(|b| {
            b.instrumented = false;
            b.tests_run = 2;
            b.tests_passed = 2;
        });
        assert_eq!(
            reason(&uninstrumented, None).as_deref(),
            Some("no binary was checked: 1 binary ran, none measured by leakcheck")
        );
        let checked = binary(|b| {
            b.tests_run = 2;
            b.tests_passed = 2;
        });
        assert_eq!(reason(&checked, None), None);
        // A crash says so itself, with its own exit code.
        let crashed = binary(|b| b.fault = Some("killed by signal 6".into()));
        assert_eq!(reason(&crashed, None), None);
    }

    #[test]
    fn report_lists_faults_and_failures_as_errors_in_order() {
        let outcome = RunOutcome {
            binaries: vec![
                BinaryOutcome {
                    binary: "z".into(),
                    fault: Some("killed by signal 6 (SIGABRT: aborted)".into()),
                    ..BinaryOutcome::default()
                },
                BinaryOutcome {
                    binary: "a".into(),
                    instrumented: true,
                    failed_tests: vec!["broken".into()],
                    session: SessionAnalysis {
                        sites: vec![site(false), site(true)],
                        unattributed: (0, 0),
                        std_caches: (0, 0),
                    },
                    ..BinaryOutcome::default()
                },
            ],
        };
        let report = outcome.to_report();
        assert_eq!(report.version, 1);
        let names: Vec<(&str, &str)> = report
            .tests
            .iter()
            .map(|t| (t.binary.as_str(), t.name.as_str()))
            .collect();
        assert_eq!(names, [("a", "broken"), ("z", SESSION_ENTRY)]);
        assert!(report.tests.iter().all(|t| t.verdict == TestVerdict::Error));
        assert_eq!(
            report.tests[1].error.as_deref(),
            Some("killed by signal 6 (SIGABRT: aborted)")
        );
        assert_eq!(report.session.verdict, SessionVerdict::Growth);
        assert!(report.session.sites[0].growth);
    }
}
