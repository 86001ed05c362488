//! The protocol, played by shell scripts standing in for test binaries.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use leakcheck_format::report::{SiteReport, SiteVerdict, TestReport, TestVerdict};
use leakcheck_format::session_record::SessionRecord;
use leakcheck_format::{Frame, FrameKind, Snapshot, Trace, Traceback};

use super::*;
use crate::cli::{SnapshotMode, Verbosity};
use crate::outcome::LeakStatus;

fn script(dir: &Path, name: &str, body: &str) -> TestBinary {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    TestBinary {
        name: name.into(),
        path,
        package: "fixture".into(),
        package_root: dir.into(),
        own_allocator: None,
        not_checked: None,
    }
}

fn check(bin: &TestBinary, timeout: Duration) -> BinaryOutcome {
    let cargo = OsString::from("cargo");
    let progress = Progress::hidden();
    let settings = settings(timeout);
    let accepted = Accepted::default();
    let cx = RunContext {
        workspace_root: Path::new("/work/fixture"),
        cargo: &cargo,
        settings: &settings,
        accepted: &accepted,
        progress: &progress,
        paint: Paint::new(false),
    };
    check_binary(bin, &cx)
}

/// A context of leaked settings, for the tests that keep a [`SessionRun`].
fn cx_for_tests() -> RunContext<'static> {
    RunContext {
        workspace_root: Path::new("/work/fixture"),
        cargo: Box::leak(Box::new(OsString::from("cargo"))),
        settings: Box::leak(Box::new(settings(Duration::from_secs(60)))),
        accepted: Box::leak(Box::default()),
        progress: Box::leak(Box::new(Progress::hidden())),
        paint: Paint::new(false),
    }
}

fn settings(timeout: Duration) -> Settings {
    Settings {
        filter: None,
        test_args: Vec::new(),
        timeout: Some(timeout),
        overrides: Vec::new(),
        session_min_tests: 3,
        jobs: 1,
        partition: None,
        snapshot_mode: SnapshotMode::Check,
        verbosity: Verbosity::Normal,
        color: None,
        json: None,
        junit: None,
        html: None,
        no_tests: crate::cli::NoTests::Fail,
        libtest_threads: Some(2),
    }
}

fn session_json(tests: &[&str], leak_tests: &[&str]) -> String {
    let at: Vec<(&str, &str, u32)> = tests.iter().map(|t| (*t, "src/lib.rs", 7)).collect();
    record_json(&at, leak_tests)
}

/// A session record of a 4 KiB block per `(test, file, line)`, each
/// allocated at that line (the site) called from that test.
fn record_json(traces: &[(&str, &str, u32)], leak_tests: &[&str]) -> String {
    let traces = traces
        .iter()
        .map(|&(t, file, line)| Trace {
            traceback: Traceback::new(vec![
                Frame {
                    file: "tests/registry.rs".into(),
                    line: 3,
                    function: format!("registry::{t}"),
                    kind: FrameKind::Workspace,
                },
                Frame {
                    file: file.into(),
                    line,
                    function: "fixture::setup".into(),
                    kind: FrameKind::Workspace,
                },
            ]),
            size: 4096,
            count: 1,
        })
        .collect();
    SessionRecord {
        leak_tests: leak_tests.iter().map(|s| s.to_string()).collect(),
        per_test: Vec::new(),
        live: Snapshot::from_traces(traces, 25).into(),
    }
    .to_json()
}

fn leak_report(verdict: TestVerdict) -> String {
    serde_json::to_string(&TestReport {
        binary: String::new(),
        name: "handles".into(),
        verdict,
        iters: 10_000,
        sites: vec![SiteReport {
            retained_by: Vec::new(),
            file: "/work/fixture/src/lib.rs".into(),
            line: 10,
            function: "fixture::handle_request".into(),
            verdict: SiteVerdict::Leak,
            bytes_per_iter: 1024.004,
            blocks_per_iter: 1.0,
            size_diff: 10_240_040,
            count_diff: 10_000,
            traceback: Vec::new(),
            series: Vec::new(),
            caller: None,
        }],
        error: None,
        warnings: Vec::new(),
    })
    .unwrap()
}

#[test]
fn session_growth_and_an_accepted_leak() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("session.json"),
        session_json(&["a", "b", "c"], &["handles"]),
    )
    .unwrap();
    fs::write(
        dir.path().join("report.json"),
        leak_report(TestVerdict::Leak),
    )
    .unwrap();
    let bin = script(
        dir.path(),
        "registry",
        r#"
case "$1" in
  --list) printf 'a: test\nb: test\nc: test\nhandles: test\n'; exit 0;;
esac
if [ -n "$LEAKCHECK_SESSION" ]; then
  [ "$CARGO_MANIFEST_DIR" = "$PWD" ] || exit 9
  cp "$CARGO_MANIFEST_DIR/session.json" "$LEAKCHECK_SESSION"; echo "test result: ok. 4 passed"; exit 0
fi
if [ "$LEAKCHECK_MODE" = measure ] && [ "$1" = handles ] && [ "$2" = --exact ] && [ "$INSTA_UPDATE" = no ]; then
  cp "$CARGO_MANIFEST_DIR/report.json" "$LEAKCHECK_REPORT"; exit 0
fi
exit 7
"#,
    );
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(out.fault, None, "{:?}", out.detail);
    assert!(out.instrumented);
    assert!(out.session.has_growth());
    assert_eq!(out.session.sites[0].tests, ["a", "b", "c"]);
    assert_eq!(out.session.sites[0].size_diff, 3 * 4096);
    assert_eq!(out.leak_tests.len(), 1);
    let t = &out.leak_tests[0];
    assert_eq!(t.status, LeakStatus::Accepted);
    assert_eq!(t.report.binary, "registry");
    assert_eq!(t.report.sites[0].file, "src/lib.rs");
    assert_eq!(t.report.sites[0].bytes_per_iter, 1024.0);
}

#[test]
fn an_aborting_binary_is_a_fault_named_by_its_signal() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "abort",
        "[ \"$1\" = --list ] && exit 0\necho 'running 2 tests'; kill -ABRT $$",
    );
    let out = check(&bin, Duration::from_secs(60));
    let fault = out.fault.unwrap();
    assert!(fault.contains("SIGABRT"), "{fault}");
    assert!(out.detail.unwrap().contains("running 2 tests"));
}

#[test]
fn a_binary_whose_list_fails_is_a_fault_and_its_session_does_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "crashes_listing",
        r#"echo "$*" >> "$CARGO_MANIFEST_DIR/runs.log"
echo 'a: test'
kill -SEGV $$"#,
    );
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(
        out.fault.as_deref(),
        Some(
            "failed to list its tests: `--list` killed by signal 11 (SIGSEGV: segmentation fault)"
        )
    );
    assert!(!out.instrumented);
    assert_eq!(runs(dir.path()), ["--list --format terse"]);
}

/// A binary that lists `a`, `b` (ignored) and `c`, logging each run.
fn listing(dir: &Path) -> TestBinary {
    script(
        dir,
        "listing",
        r#"echo "$*" >> "$CARGO_MANIFEST_DIR/runs.log"
case "$*" in
  *--ignored*--list*) printf 'b: test
';;
  *--list*) printf 'a: test
b: test
c: test
';;
esac"#,
    )
}

#[test]
fn the_list_is_what_the_session_will_run() {
    let dir = tempfile::tempdir().unwrap();
    let bin = listing(dir.path());
    let cx = cx_for_tests();
    let listed = list(&bin, &cx);
    assert_eq!(listed.tests, Ok(vec!["a".to_owned(), "c".to_owned()]));
    assert_eq!(listed.count(), 2);
    // As nextest lists: all, then the ignored ones, with the run's filter.
    assert_eq!(
        runs(dir.path()),
        ["--list --format terse", "--ignored --list --format terse"]
    );

    // Test arguments that run the ignored tests: one list, and it is all.
    let dir = tempfile::tempdir().unwrap();
    let bin = listing(dir.path());
    let mut cx = cx_for_tests();
    cx.settings = Box::leak(Box::new(Settings {
        filter: Some("b".into()),
        test_args: vec!["--include-ignored".into()],
        ..settings(Duration::from_secs(60))
    }));
    assert_eq!(list(&bin, &cx).count(), 3);
    assert_eq!(
        runs(dir.path()),
        ["b --include-ignored --list --format terse"]
    );
}

#[test]
fn a_hanging_binary_times_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "hang",
        r#"echo "$*" >> "$CARGO_MANIFEST_DIR/runs.log"
case "$*" in
  *--ignored*) exit 0;;
  *--list*) printf 'a_finishes: test\nb_hangs: test\n'; exit 0;;
esac
echo 'running 2 tests'
echo 'test a_finishes ... ok'
exec sleep 30"#,
    );
    let out = check(&bin, Duration::from_millis(300));
    assert_eq!(out.fault.unwrap(), "timed out after 300ms and was killed");
    // Not run again one test at a time, which would wait out the limit
    // twice: the listed test that printed no line is the one named, from
    // the list made before the session (not listed again).
    assert_eq!(
        runs(dir.path()),
        [
            "--list --format terse",
            "--ignored --list --format terse",
            ""
        ]
    );
    assert!(
        out.detail
            .unwrap()
            .ends_with("still running at the time limit: b_hangs"),
    );
}

#[test]
fn a_binary_without_leakcheck_is_not_instrumented() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "plain",
        "echo 'test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out'",
    );
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(out.fault, None);
    assert_eq!((out.tests_run, out.tests_ignored), (2, 1));
    assert!(!out.instrumented);
    assert!(out.leak_tests.is_empty());
}

#[test]
fn failing_ordinary_tests_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "failing",
        r#"printf 'test x ... FAILED\n\nfailures:\n\n---- x stdout ----\nboom\n\nfailures:\n    x\n\n'; exit 101"#,
    );
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(out.fault, None);
    assert_eq!(out.failed_tests, ["x"]);
    assert!(out.detail.unwrap().contains("boom"));
}

fn output(t: Termination, stderr: &str) -> ProcessOutput {
    ProcessOutput {
        termination: t,
        stdout: "running 1 test\ntest handles ... \n\ntest result: ok. 1 passed\n".into(),
        stderr: stderr.into(),
    }
}

#[test]
fn leak_test_outcomes() {
    let bin = TestBinary {
        name: "leak".into(),
        path: "/bin/false".into(),
        package: "p".into(),
        package_root: "/p".into(),
        own_allocator: None,
        not_checked: None,
    };
    let root = Path::new("/p");
    let report = |v| serde_json::from_str::<TestReport>(&leak_report(v)).unwrap();
    let passed = Termination::Exited(0);
    let failed = Termination::Exited(101);
    let panic = "thread 'handles' panicked at src/lib.rs:3:5:\nboom\n";
    let cases = [
        (
            passed,
            Some(report(TestVerdict::Clean)),
            LeakStatus::Clean,
            None,
        ),
        (
            passed,
            Some(report(TestVerdict::Leak)),
            LeakStatus::Accepted,
            None,
        ),
        (
            failed,
            Some(report(TestVerdict::Leak)),
            LeakStatus::Leak,
            None,
        ),
        (
            failed,
            Some(report(TestVerdict::Clean)),
            LeakStatus::Failed,
            Some("the test failed: panicked at src/lib.rs:3:5: boom"),
        ),
        (
            failed,
            None,
            LeakStatus::Failed,
            Some("the test failed before reporting: panicked at src/lib.rs:3:5: boom"),
        ),
        (
            passed,
            None,
            LeakStatus::Fault,
            Some("the test passed but wrote no report (is it a #[leak_test]?)"),
        ),
        (
            Termination::Signaled {
                signal: libc::SIGSEGV,
                core_dumped: false,
            },
            None,
            LeakStatus::Fault,
            Some("killed by signal 11 (SIGSEGV: segmentation fault)"),
        ),
        (
            Termination::TimedOut(Duration::from_secs(300)),
            Some(report(TestVerdict::Leak)),
            LeakStatus::Fault,
            Some("timed out after 300s and was killed"),
        ),
    ];
    for (t, r, status, error) in cases {
        let got = classify(&bin, "handles", &output(t, panic), r, root);
        check_leak_test_outcome(got, t, status, error);
    }
    // `std::process::exit` in the test: no summary, no report.
    for code in [0, 3] {
        let mut out = output(Termination::Exited(code), "");
        out.stdout = "running 1 test\ntest handles ... ".into();
        let got = classify(&bin, "handles", &out, None, root);
        let error = format!(
            "test `handles` exited the process with status {code} before the run finished \
             (no `test result:` line); a `std::process::exit` in the test?"
        );
        check_leak_test_outcome(got, out.termination, LeakStatus::Fault, Some(&error));
    }
}

fn check_leak_test_outcome(
    got: LeakTestOutcome,
    t: Termination,
    status: LeakStatus,
    error: Option<&str>,
) {
    {
        assert_eq!(got.status, status, "{t:?}");
        assert_eq!(got.report.error.as_deref(), error, "{t:?}");
        assert_eq!(got.report.binary, "leak");
        let error_verdict = matches!(status, LeakStatus::Failed | LeakStatus::Fault);
        assert_eq!(
            got.report.verdict == TestVerdict::Error,
            error_verdict,
            "{t:?}"
        );
    }
}

#[test]
fn rates_are_rounded_to_two_decimals() {
    assert_eq!(round(1023.456), 1023.46);
}

#[test]
fn a_main_of_its_own_passes_by_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(dir.path(), "own", "echo 'custom runner: all good'");
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(out.fault, None);
    assert!(out.failed_tests.is_empty());
    assert!(out.own_main);
}

#[test]
fn a_main_that_rejects_libtest_flags_is_run_as_cargo_test_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "strict",
        r#"for a in "$@"; do case "$a" in --*) echo "unexpected $a" >&2; exit 2;; esac; done; echo ok"#,
    );
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(out.fault, None, "{:?}", out.detail);
    assert!(out.failed_tests.is_empty(), "{:?}", out.failed_tests);
    assert!(out.own_main);
}

#[test]
fn a_failing_main_of_its_own_is_a_failed_test() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(dir.path(), "broken", "echo 'check 3 failed'; exit 1");
    let out = check(&bin, Duration::from_secs(60));
    assert_eq!(out.fault, None);
    assert_eq!(out.failed_tests, ["main (exited with status 1)"]);
    assert!(out.detail.unwrap().contains("check 3 failed"));
}

#[test]
fn flags_leakcheck_sets_are_not_given_twice() {
    let args: Vec<String> = [
        "--test-threads",
        "4",
        "--nocapture",
        "--include-ignored",
        "--test-threads=2",
        "--exact",
        "--skip",
        "slow",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        user_args(&args, SESSION_OWNED),
        [
            "--nocapture",
            "--include-ignored",
            "--exact",
            "--skip",
            "slow"
        ]
    );
    assert_eq!(
        user_args(&args, LEAK_TEST_OWNED),
        ["--include-ignored", "--skip", "slow"]
    );
}

/// A binary whose session prints libtest's lines for `tests` and leaves
/// `session.json`; it logs each run's arguments to `runs.log`.
fn logging_session(dir: &Path, tests: &[&str]) -> TestBinary {
    let lines: String = tests
        .iter()
        .map(|t| format!("test {t} ... ok\\n"))
        .collect();
    let n = tests.len();
    script(
        dir,
        "logged",
        &format!(
            r#"
echo "$*" >> "$CARGO_MANIFEST_DIR/runs.log"
case "$1" in
  --list) exit 3;;
esac
cp "$CARGO_MANIFEST_DIR/session.json" "$LEAKCHECK_SESSION"
printf 'running {n} tests\n{lines}\ntest result: ok. {n} passed; 0 failed; 0 ignored\n'
"#
        ),
    )
}

/// What the list before a session found.
fn listed(tests: &[&str]) -> Listing {
    Listing {
        tests: Ok(tests.iter().map(|t| t.to_string()).collect()),
        took: Duration::ZERO,
    }
}

fn runs(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("runs.log"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_session_that_left_nothing_under_a_test_runs_once_on_libtest_s_threads() {
    let dir = tempfile::tempdir().unwrap();
    // Live at exit, but under no test's frame: the tests are d, e, f.
    fs::write(
        dir.path().join("session.json"),
        session_json(&["a", "b", "c"], &["z_leaks", "m_leaks"]),
    )
    .unwrap();
    let bin = logging_session(dir.path(), &["d", "e", "f"]);
    let run = run_session(&bin, &listed(&["d", "e", "f"]), &cx_for_tests());
    assert_eq!(run.outcome.fault, None, "{:?}", run.outcome.detail);
    assert_eq!(
        runs(dir.path()),
        [""],
        "one run, no --test-threads=1, no --list"
    );
    assert!(run.outcome.session.sites.is_empty());
    assert_eq!(run.outcome.session.unattributed, (3 * 4096, 3));
    // In libtest's one-at-a-time order, whatever order they finished in.
    assert_eq!(run.leak_tests, ["m_leaks", "z_leaks"]);
    assert_eq!(run.outcome.tests_run, 3);
}

#[test]
fn a_session_that_left_memory_under_tests_runs_again_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("session.json"),
        session_json(&["a", "b", "c"], &[]),
    )
    .unwrap();
    let bin = logging_session(dir.path(), &["a", "b", "c"]);
    let run = run_session(&bin, &listed(&["a", "b", "c"]), &cx_for_tests());
    assert_eq!(run.outcome.fault, None, "{:?}", run.outcome.detail);
    // The test names come from the run's own lines: no --list. The
    // growth found makes a third run, one at a time too, with the live
    // blocks registered, to say what retains it.
    assert_eq!(
        runs(dir.path()),
        ["", "--test-threads=1", "--test-threads=1"]
    );
    assert!(run.outcome.session.has_growth());
    assert_eq!(run.outcome.session.sites[0].tests, ["a", "b", "c"]);
}

#[test]
fn a_crashed_session_runs_again_one_at_a_time_to_name_the_running_test() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "abort",
        r#"[ "$1" = --list ] && exit 0
echo "$*" >> "$CARGO_MANIFEST_DIR/runs.log"
echo 'running 2 tests'
[ "$1" = --test-threads=1 ] && echo 'test b_aborts ...'
kill -ABRT $$"#,
    );
    let out = check(&bin, Duration::from_secs(60));
    assert!(out.fault.unwrap().contains("SIGABRT"));
    assert!(out.detail.unwrap().contains("test b_aborts ..."));
    // No session record (abort runs no exit hook): the rerun is not for
    // the record's sake.
    assert_eq!(runs(dir.path()), ["", "--test-threads=1"]);
}

/// A binary of tests `a` to `h`: on libtest's threads they finish in
/// `finished`'s order and leave `session.json`; run with `--exact` (the
/// tests in doubt), each named test passes and the run leaves `again.json`
/// (nothing, when there is none); one at a time, the tests finish in name
/// order. Each run's arguments go to `runs.log`.
fn doubting_session(dir: &Path, finished: &[&str]) -> TestBinary {
    let lines: String = finished
        .iter()
        .map(|t| format!("test {t} ... ok\\n"))
        .collect();
    let mut sorted = finished.to_vec();
    sorted.sort_unstable();
    let in_order: String = sorted
        .iter()
        .map(|t| format!("test {t} ... ok\\n"))
        .collect();
    let n = finished.len();
    script(
        dir,
        "doubting",
        &format!(
            r#"
echo "$*" >> "$CARGO_MANIFEST_DIR/runs.log"
case " $* " in
  *" --list "*) exit 3;;
  *" --exact "*)
    cp "$CARGO_MANIFEST_DIR/again.json" "$LEAKCHECK_SESSION" 2>/dev/null
    echo "running some tests"
    for a in "$@"; do
      case "$a" in --*) ;; *) echo "test $a ... ok"; n=$((n+1));; esac
    done
    echo
    echo "test result: ok. $n passed; 0 failed; 0 ignored"
    exit 0;;
  *" --test-threads=1 "*) lines='{in_order}';;
  *) lines='{lines}';;
esac
cp "$CARGO_MANIFEST_DIR/session.json" "$LEAKCHECK_SESSION"
printf "running {n} tests\n$lines\ntest result: ok. {n} passed; 0 failed; 0 ignored\n"
"#
        ),
    )
}

const TESTS_A_TO_H: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

#[test]
fn only_the_tests_in_doubt_run_again_and_what_they_left_is_theirs() {
    let dir = tempfile::tempdir().unwrap();
    // On two threads, b finished before a, which started beside it, and
    // was charged with what a fills first one at a time.
    fs::write(dir.path().join("session.json"), session_json(&["b"], &[])).unwrap();
    fs::write(dir.path().join("again.json"), session_json(&["a"], &[])).unwrap();
    let bin = doubting_session(dir.path(), &["b", "a", "c", "d", "e", "f", "g", "h"]);
    let run = run_session(&bin, &listed(&TESTS_A_TO_H), &cx_for_tests());
    assert_eq!(run.outcome.fault, None, "{:?}", run.outcome.detail);
    assert_eq!(runs(dir.path()), ["", "a b --exact --test-threads=1"]);
    let sites = &run.outcome.session.sites;
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].tests, ["a"]);
    assert!(!run.outcome.session.has_growth());
    assert_eq!(run.outcome.tests_run, 8);
}

#[test]
fn a_run_of_the_tests_in_doubt_that_leaves_no_record_makes_the_whole_binary_run_again() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("session.json"), session_json(&["b"], &[])).unwrap();
    let bin = doubting_session(dir.path(), &["b", "a", "c", "d", "e", "f", "g", "h"]);
    let run = run_session(&bin, &listed(&TESTS_A_TO_H), &cx_for_tests());
    assert_eq!(run.outcome.fault, None, "{:?}", run.outcome.detail);
    assert_eq!(
        runs(dir.path()),
        ["", "a b --exact --test-threads=1", "--test-threads=1"]
    );
    assert_eq!(run.outcome.session.sites[0].tests, ["b"]);
}

#[test]
fn a_session_on_one_thread_is_judged_as_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("session.json"), session_json(&["b"], &[])).unwrap();
    let bin = doubting_session(dir.path(), &TESTS_A_TO_H);
    let mut cx = cx_for_tests();
    cx.settings = Box::leak(Box::new(Settings {
        libtest_threads: Some(1),
        ..settings(Duration::from_secs(60))
    }));
    let run = run_session(&bin, &listed(&TESTS_A_TO_H), &cx);
    assert_eq!(runs(dir.path()), [""]);
    assert_eq!(run.outcome.session.sites[0].tests, ["b"]);
    // Shuffled, or on threads not known: the whole binary.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("session.json"), session_json(&["b"], &[])).unwrap();
    let bin = doubting_session(dir.path(), &TESTS_A_TO_H);
    cx.settings = Box::leak(Box::new(Settings {
        libtest_threads: None,
        ..settings(Duration::from_secs(60))
    }));
    run_session(&bin, &listed(&TESTS_A_TO_H), &cx);
    assert_eq!(runs(dir.path()), ["", "--test-threads=1"]);
}

#[test]
fn tests_in_doubt_that_are_half_the_binary_make_it_run_again_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Each at a site of its own (static tables, each filled once).
    let sites = [
        ("b", "src/b.rs", 1),
        ("d", "src/d.rs", 1),
        ("f", "src/f.rs", 1),
        ("h", "src/h.rs", 1),
    ];
    fs::write(dir.path().join("session.json"), record_json(&sites, &[])).unwrap();
    let bin = doubting_session(dir.path(), &TESTS_A_TO_H);
    run_session(&bin, &listed(&TESTS_A_TO_H), &cx_for_tests());
    // b, d, f and h with the tests beside them: a to h.
    assert_eq!(runs(dir.path())[1], "--test-threads=1");
}

#[test]
fn a_site_tests_left_one_after_another_makes_the_whole_binary_run_again() {
    // b and l never ran at once: what each left at the site can depend on
    // the tests after it (garbage a collector frees later), which a run of
    // the tests in doubt (a, b, k, l: a third of them) does not have.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("session.json"),
        session_json(&["b", "l"], &[]),
    )
    .unwrap();
    let a_to_l = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    let mut finished = a_to_l;
    finished.swap(0, 1);
    let bin = doubting_session(dir.path(), &finished);
    run_session(&bin, &listed(&a_to_l), &cx_for_tests());
    assert_eq!(runs(dir.path()), ["", "--test-threads=1"]);
    // a and b ran at once (a table they grew together): theirs to settle.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("session.json"),
        session_json(&["a", "b"], &[]),
    )
    .unwrap();
    fs::write(dir.path().join("again.json"), session_json(&["a"], &[])).unwrap();
    let bin = doubting_session(dir.path(), &["b", "a", "c", "d", "e", "f", "g", "h"]);
    let run = run_session(&bin, &listed(&TESTS_A_TO_H), &cx_for_tests());
    assert_eq!(runs(dir.path()), ["", "a b --exact --test-threads=1"]);
    assert_eq!(run.outcome.session.sites[0].tests, ["a"]);
}

#[test]
fn the_tests_in_doubt_are_asked_only_who_left_what_the_first_run_charged() {
    let dir = tempfile::tempdir().unwrap();
    // The first run charged b at the registry; the shorter second run also
    // left a's and b's garbage at a collector's line, which a whole run
    // would have freed behind them.
    fs::write(dir.path().join("session.json"), session_json(&["b"], &[])).unwrap();
    fs::write(
        dir.path().join("again.json"),
        record_json(
            &[
                ("a", "src/lib.rs", 7),
                ("a", "src/collector.rs", 9),
                ("b", "src/collector.rs", 9),
            ],
            &[],
        ),
    )
    .unwrap();
    let bin = doubting_session(dir.path(), &["b", "a", "c", "d", "e", "f", "g", "h"]);
    let run = run_session(&bin, &listed(&TESTS_A_TO_H), &cx_for_tests());
    assert_eq!(runs(dir.path()), ["", "a b --exact --test-threads=1"]);
    let sites: Vec<(&str, u32, &[String])> = run
        .outcome
        .session
        .sites
        .iter()
        .map(|s| (s.file.as_str(), s.line, s.tests.as_slice()))
        .collect();
    assert_eq!(sites, [("src/lib.rs", 7, &["a".to_owned()][..])]);
}
