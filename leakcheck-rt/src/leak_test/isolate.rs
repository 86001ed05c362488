//! Isolation: under libtest's parallel runner, a leak test measures itself
//! in a child process of the same test binary, filtered to itself (the
//! rusty-fork approach), so tests running beside it cannot add to its
//! growth.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use leakcheck_format::file_format::FileError;
use leakcheck_format::protocol::alone::{AloneRun, ENV_REMOVED, report_file_name};
use leakcheck_format::protocol::env::{Mode, PARENT_PID};
use leakcheck_format::protocol::libtest::{announced_running, tail};
use leakcheck_format::report::{TestReport, TestVerdict};

/// Lines of the child's stderr shown when it fails.
const STDERR_TAIL: usize = 40;

/// Why the child did not produce a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildFailure(pub String);

/// `true` when nextest runs this process for the test `test_name` alone.
///
/// `NEXTEST_EXECUTION_MODE` alone is not proof: a `cargo test` started
/// from inside a nextest run (a build script, an end-to-end test) inherits
/// it, and then runs its tests side by side. So the command line must show
/// what nextest passes, `--exact <test>` with this test as the only name,
/// and `NEXTEST_TEST_NAME`, where nextest sets it, must name it.
pub(crate) fn alone_under_nextest(test_name: &str) -> bool {
    let mode = std::env::var("NEXTEST_EXECUTION_MODE");
    let named = match std::env::var("NEXTEST_TEST_NAME") {
        Ok(name) => name == test_name,
        Err(_) => true,
    };
    mode.as_deref() == Ok("process-per-test")
        && named
        && selects_only(std::env::args().skip(1), test_name)
}

/// `true` when libtest's arguments `args` select the test `test_name` and
/// nothing else: `--exact`, and it is the only name filter.
fn selects_only(args: impl Iterator<Item = String>, test_name: &str) -> bool {
    // libtest's options that take a value as the next argument.
    const WITH_VALUE: [&str; 7] = [
        "--logfile",
        "--test-threads",
        "--skip",
        "--color",
        "--format",
        "-Z",
        "--shuffle-seed",
    ];
    let mut exact = false;
    let mut filters = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        if arg == "--exact" {
            exact = true;
        } else if WITH_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            filters.push(arg);
        }
    }
    exact && filters.len() == 1 && filters[0] == test_name
}

/// Runs the test `test_name` alone in a child process and returns the
/// report it wrote.
pub(crate) fn run_in_child(test_name: &str) -> Result<TestReport, ChildFailure> {
    let exe = std::env::current_exe().map_err(|e| {
        ChildFailure(format!(
            "failed to find the test binary to re-run the leak test alone: {e}"
        ))
    })?;
    let report_path = temp_report_path(test_name);
    let run = AloneRun {
        test: test_name,
        mode: Mode::Child,
        report: &report_path,
    };
    // The child stays in this process's process group, so a runner that
    // kills the test's group at its time limit (nextest, `cargo
    // leakcheck`) or a terminal's Ctrl-C ends it too; `die_with_parent`
    // covers this process being killed alone.
    let finished = run
        .run(|args, env| {
            let mut command = Command::new(&exe);
            command
                .args(args)
                .arg("--include-ignored")
                .envs(env)
                .env(PARENT_PID, std::process::id().to_string());
            for name in ENV_REMOVED {
                command.env_remove(name);
            }
            command.output()
        })
        .map_err(|e| {
            ChildFailure(format!(
                "failed to run {} to measure the leak test alone: {e}",
                exe.display()
            ))
        })?;
    let output = finished.output;
    let report = finished.report.and_then(Result::ok);
    // The child's own notes (such as the missing-frame-pointers warning)
    // belong to this test's output.
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        if line.starts_with("leakcheck: ") {
            eprintln!("{line}");
        }
    }
    relay(test_name, &output, report)
}

/// In a child run: dies when the test process that started it does, so a
/// parent killed alone (`kill PID`, an out-of-memory kill) leaves no
/// orphan looping on. Linux only (`PR_SET_PDEATHSIG`, through rustix's
/// safe wrapper); elsewhere the shared process group is what stops it.
pub(crate) fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Signal, set_parent_process_death_signal};
        if set_parent_process_death_signal(Some(Signal::KILL)).is_err() {
            return;
        }
        // The parent may have died before the call took effect.
        let parent = std::env::var(PARENT_PID)
            .ok()
            .and_then(|p| p.parse::<u32>().ok());
        if parent.is_some_and(|pid| pid != std::os::unix::process::parent_id()) {
            eprintln!(
                "leakcheck: the test process that started this isolated run is gone; stopping"
            );
            std::process::exit(1);
        }
    }
}

/// The child's verdict: its report when it measured, its error otherwise.
fn relay(
    test_name: &str,
    output: &Output,
    parsed: Option<TestReport>,
) -> Result<TestReport, ChildFailure> {
    let stderr = tail(&String::from_utf8_lossy(&output.stderr), STDERR_TAIL);
    match parsed {
        // The child's own exit status does not count: under
        // `#[should_panic]` a measured child that did not panic fails.
        Some(report) if report.verdict != TestVerdict::Error => Ok(report),
        Some(TestReport {
            error: Some(error), ..
        }) => Err(ChildFailure(format!(
            "{error}\n\n--- stderr of the isolated run of {test_name} ---\n{stderr}"
        ))),
        _ if !announced_running(&String::from_utf8_lossy(&output.stdout), 1) => {
            Err(ChildFailure(format!(
                "the isolated run of {test_name} did not run the test ({}); is the test \
                 binary's harness filtering by name?\n--- stderr ---\n{stderr}",
                output.status
            )))
        }
        _ => Err(ChildFailure(format!(
            "the isolated run of {test_name} failed ({}) without a report\n\
             --- stderr of the isolated run ---\n{stderr}",
            output.status
        ))),
    }
}

/// A fresh path in the temporary directory for the child's report.
fn temp_report_path(test_name: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "leakcheck-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        report_file_name(test_name)
    );
    std::env::temp_dir().join(name)
}

/// Writes `report` to `path` atomically: a reader never sees half a file.
pub(crate) fn write_report(path: &Path, report: &TestReport) -> Result<(), FileError> {
    report.write_atomic(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn output(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    fn report(verdict: TestVerdict, error: Option<&str>) -> TestReport {
        TestReport {
            binary: String::new(),
            name: "t".into(),
            verdict,
            iters: 10,
            sites: Vec::new(),
            error: error.map(str::to_owned),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_measured_child_is_relayed() {
        let out = output(0, "running 1 test\n", "");
        let r = relay("t", &out, Some(report(TestVerdict::Clean, None))).unwrap();
        assert_eq!(r.verdict, TestVerdict::Clean);
    }

    #[test]
    fn a_measured_child_counts_whatever_its_exit_status() {
        let out = output(
            101,
            "running 1 test\n",
            "note: test did not panic as expected\n",
        );
        let r = relay("t", &out, Some(report(TestVerdict::Leak, None))).unwrap();
        assert_eq!(r.verdict, TestVerdict::Leak);
    }

    #[test]
    fn a_panicking_body_is_named() {
        let out = output(
            101,
            "running 1 test\n",
            "thread 't' panicked at src/x.rs:1:1:\nboom\n",
        );
        let err = relay(
            "t",
            &out,
            Some(report(TestVerdict::Error, Some("the body panicked: boom"))),
        )
        .unwrap_err();
        assert!(err.0.starts_with("the body panicked: boom"), "{}", err.0);
        assert!(err.0.contains("panicked at src/x.rs:1:1"), "{}", err.0);
    }

    #[test]
    fn a_crash_shows_status_and_stderr() {
        let out = Output {
            status: ExitStatus::from_raw(6),
            stdout: b"running 1 test\n".to_vec(),
            stderr: b"fatal runtime error\n".to_vec(),
        };
        let err = relay("t", &out, None).unwrap_err();
        assert!(err.0.contains("failed (signal: 6"), "{}", err.0);
        assert!(err.0.contains("fatal runtime error"), "{}", err.0);
    }

    #[test]
    fn a_filtered_out_test_is_explained() {
        let out = output(0, "running 0 tests\n", "");
        let err = relay("t", &out, None).unwrap_err();
        assert!(err.0.contains("did not run the test"), "{}", err.0);
    }

    #[test]
    fn reports_are_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let r = report(TestVerdict::Leak, None);
        write_report(&path, &r).unwrap();
        let back: TestReport =
            leakcheck_format::json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn only_an_exact_single_filter_is_alone() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        let t = "tests::leaky";
        // What nextest runs.
        assert!(selects_only(args(&["--exact", t, "--nocapture"]), t));
        assert!(selects_only(
            args(&["--test-threads", "1", t, "--exact", "--skip", "x"]),
            t
        ));
        // Inherited variables under a plain `cargo test`.
        assert!(!selects_only(args(&[]), t));
        assert!(!selects_only(args(&["--test-threads=2"]), t));
        assert!(!selects_only(args(&[t]), t));
        assert!(!selects_only(args(&["--exact", t, "tests::other"]), t));
        assert!(!selects_only(args(&["--exact", "tests::other"]), t));
    }
}
