//! The protocol with one test binary: a session run, a test list when the
//! session must be attributed by frames, and one process per leak test.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use leakcheck_format::FileError;
use leakcheck_format::protocol::alone::{self, AloneRun, report_file_name};
use leakcheck_format::protocol::env::{self as protocol_env, Mode};
use leakcheck_format::protocol::libtest::{
    LIST_ARGS, TEST_FAILED_CODE, announced_running, failed_tests, failures_section,
    finished_its_tests, finished_tests, listed_counts, panic_message, ran_tests, speaks_libtest,
    tail, test_list,
};
use leakcheck_format::report::{TestReport, TestVerdict};
use leakcheck_format::session_record::SessionRecord;

use super::doubt::{self, Doubt};
use super::interrupt;
use super::libtest::{early_exit, stale_leak_snapshot};
use super::process::{self, ProcessOutput, ProcessSpec, Termination};
use super::session::{self, relative};
use crate::accepted::{self, Accepted};
use crate::cli::Verbosity;
use crate::outcome::{BinaryOutcome, LeakStatus, LeakTestOutcome, SESSION_ENTRY, error_entry};
use crate::render::neutralise;
use crate::settings::Settings;
use crate::ui::{Paint, Progress, Status};

/// A built test binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// Its name in reports: nextest's binary ID (see
    /// [`crate::binary_id::binary_id`]).
    pub name: String,
    /// The executable.
    pub path: PathBuf,
    /// The package's name.
    pub package: String,
    /// The package's root (where its Cargo.toml is); the tests run there.
    pub package_root: PathBuf,
    /// Where its own `#[global_allocator]` is (`file:line: static …`),
    /// when it has one and leakcheck's could not go in beside it.
    pub own_allocator: Option<String>,
    /// Why leakcheck's runtime could not go into it (`#![no_std]`, …).
    pub not_checked: Option<String>,
}

/// What every binary's run shares.
#[derive(Debug)]
pub struct RunContext<'a> {
    /// The workspace root.
    pub workspace_root: &'a Path,
    /// The cargo executable, passed on as `CARGO`.
    pub cargo: &'a OsString,
    /// The run's settings.
    pub settings: &'a Settings,
    /// Accepted session growth, to tell it apart in the line a finished
    /// session prints.
    pub accepted: &'a Accepted,
    /// The progress bar, and the line per finished process.
    pub progress: &'a Progress,
    /// Colours of those lines.
    pub paint: Paint,
}

/// A binary whose session ran: its outcome so far, and the leak tests
/// still to run, each alone (their reports go to its scratch directory).
#[derive(Debug)]
pub struct SessionRun {
    /// The binary's outcome, without its leak tests.
    pub outcome: BinaryOutcome,
    /// The leak tests the session ran, in its order.
    pub leak_tests: Vec<String>,
    scratch: Option<tempfile::TempDir>,
}

const SESSION_FILE: &str = "session.json";
/// The record of the tests in doubt, run again one at a time.
const DOUBT_FILE: &str = "session-doubt.json";

/// Checks one binary, its session and then its leak tests one after
/// another; never fails: what goes wrong is part of the outcome. (A run
/// schedules the two parts on `-j` threads itself.)
#[cfg(test)]
pub fn check_binary(bin: &TestBinary, cx: &RunContext<'_>) -> BinaryOutcome {
    let run = run_session(bin, &list(bin, cx), cx);
    let tests: Vec<LeakTestOutcome> = run
        .leak_tests
        .iter()
        .map_while(|name| {
            interrupt::signal()
                .is_none()
                .then(|| run_leak_test(bin, name, &run, cx))
        })
        .collect();
    let mut outcome = run.outcome;
    outcome.leak_tests = tests;
    outcome
}

/// The tests a binary's session will run, listed before any session
/// starts (so the run's total is known up front), and how long that took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The tests, in libtest's order; `Err` is why the binary could not
    /// list them (a one-line reason: the binary is a fault).
    pub tests: Result<Vec<String>, String>,
    /// The wall time of the `--list` runs.
    pub took: Duration,
}

impl Listing {
    /// How many tests the session will run (none for a binary that could
    /// not list them).
    pub fn count(&self) -> usize {
        self.tests.as_ref().map_or(0, Vec::len)
    }
}

/// Lists the tests `bin`'s session will run, as nextest lists a binary:
/// `--list` with the run's test name filter and arguments, less the
/// ignored tests (a second `--list` with `--ignored`) unless the arguments
/// run them (`--include-ignored`, or `--ignored` alone).
pub fn list(bin: &TestBinary, cx: &RunContext<'_>) -> Listing {
    let start = Instant::now();
    cx.progress.start(&format!("{}: --list", bin.name));
    let args = &cx.settings.test_args;
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let tests = list_run(bin, cx, &[]).and_then(|tests| {
        if tests.is_empty() || has("--include-ignored") || has("--ignored") {
            return Ok(tests);
        }
        let ignored = list_run(bin, cx, &["--ignored"])?;
        Ok(tests.into_iter().filter(|t| !ignored.contains(t)).collect())
    });
    Listing {
        tests,
        took: start.elapsed(),
    }
}

/// One `--list` run with the run's filter and arguments, and `extra`.
fn list_run(bin: &TestBinary, cx: &RunContext<'_>, extra: &[&str]) -> Result<Vec<String>, String> {
    let mut args = cargo_test_args(cx);
    args.extend(extra.iter().map(OsString::from));
    args.extend(LIST_ARGS.iter().map(OsString::from));
    let timeout = cx.settings.timeout_for(&bin.name, None);
    let out = run_logged(bin, args, base_env(bin, cx), timeout, cx)
        .map_err(|e| format!("failed to list its tests: {e}"))?;
    let tests = test_list(&out.stdout);
    match out.termination {
        Termination::Exited(0) => Ok(tests),
        // A `main` of its own that rejects libtest's flags (or a harness
        // that rejects the user's) lists nothing: its session run says how
        // it fares, as it does without a list.
        Termination::Exited(_) if tests.is_empty() => Ok(Vec::new()),
        t => Err(format!(
            "failed to list its tests: `--list` {}",
            t.describe()
        )),
    }
}

/// Runs one binary's session (its tests as `listing` found them) and
/// prints its line; the leak tests it found are left to
/// [`run_leak_test`]. A binary that could not list its tests is a fault,
/// and its session does not run.
pub fn run_session(bin: &TestBinary, listing: &Listing, cx: &RunContext<'_>) -> SessionRun {
    let start = Instant::now();
    let (mut outcome, scratch, leak_tests) = match &listing.tests {
        Ok(listed) => session_outcome(bin, listed, cx),
        Err(reason) => {
            let outcome = BinaryOutcome {
                binary: bin.name.clone(),
                fault: Some(reason.clone()),
                ..BinaryOutcome::default()
            };
            (outcome, None, Vec::new())
        }
    };
    // The listing is part of what the binary took.
    let took = listing.took + start.elapsed();
    outcome.session_duration = Some(took);
    if interrupt::signal().is_none() {
        accepted::mark(cx.accepted, &mut outcome.session);
        // The bar counts tests: the session's own, less the leak tests,
        // whose processes count one each.
        let ran = outcome.tests_run.saturating_sub(leak_tests.len());
        cx.progress.finished(
            &cx.paint,
            session_status(&outcome),
            took,
            &bin.name,
            SESSION_ENTRY,
            ran,
        );
    }
    SessionRun {
        outcome,
        leak_tests,
        scratch,
    }
}

fn session_status(b: &BinaryOutcome) -> Status {
    if b.fault.is_some() {
        Status::Fault
    } else if !b.failed_tests.is_empty() {
        Status::Fail
    } else if b.session.has_growth() {
        Status::Growth
    } else {
        Status::Pass
    }
}

fn session_outcome(
    bin: &TestBinary,
    listed: &[String],
    cx: &RunContext<'_>,
) -> (BinaryOutcome, Option<tempfile::TempDir>, Vec<String>) {
    let mut outcome = BinaryOutcome {
        binary: bin.name.clone(),
        own_allocator: bin.own_allocator.clone(),
        not_checked: bin.not_checked.clone(),
        ..BinaryOutcome::default()
    };
    let scratch = match tempfile::Builder::new().prefix("leakcheck-").tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            outcome.fault = Some(format!("failed to create a temporary directory: {e}"));
            return (outcome, None, Vec::new());
        }
    };
    let session_path = scratch.path().join(SESSION_FILE);

    let mut env = base_env(bin, cx);
    env.push((protocol_env::SESSION.into(), session_path.clone().into()));
    // Snapshots are only ever written by the leak tests' own runs.
    env.push(("INSTA_UPDATE".into(), "no".into()));

    cx.progress.start(&format!("{}: session", bin.name));
    let timeout = cx.settings.timeout_for(&bin.name, None);
    let session = |threads| session_process(bin, cx, threads, &session_path, env.clone(), timeout);
    let mut threads = Threads::Libtest;
    let mut run = session(threads);
    let mut loaded = read_record(&session_path);
    let again = match &run {
        Ok(out) => run_again(out, loaded.as_ref(), cx.settings.libtest_threads),
        Err(_) => Again::No,
    };
    // The record of the tests in doubt, run again one at a time.
    let mut doubtful: Option<(SessionRecord, Doubt)> = None;
    if let Again::Tests(doubt) = &again {
        let path = scratch.path().join(DOUBT_FILE);
        doubtful = run_in_doubt(bin, cx, &doubt.tests(), &path, &env, timeout)
            .map(|record| (record, doubt.clone()));
    }
    if again == Again::Whole || (matches!(again, Again::Tests(_)) && doubtful.is_none()) {
        let _ = std::fs::remove_file(&session_path);
        threads = Threads::One;
        run = session(threads);
        loaded = read_record(&session_path);
    }
    let out = match run {
        Ok(out) => out,
        Err(e) => {
            outcome.fault = Some(format!("failed to run `{}`: {e}", bin.path.display()));
            return (outcome, None, Vec::new());
        }
    };
    if interrupt::signal().is_some() {
        // The run is over; dropping it removes the scratch directory.
        return (outcome, None, Vec::new());
    }
    if !speaks_libtest(&out.stdout) {
        return (own_main(outcome, &out, loaded, bin, cx), None, Vec::new());
    }
    let counts = listed_counts(&out.stdout, listed);
    (outcome.tests_run, outcome.tests_passed) = (counts.passed + counts.failed, counts.passed);
    outcome.tests_ignored = counts.ignored;

    let record = match loaded {
        None => None,
        Some(loaded) => match loaded {
            Ok(mut record) => {
                if threads == Threads::Libtest {
                    // In the order they finished; one at a time, libtest
                    // runs them in the order of their names.
                    record.leak_tests.sort();
                }
                Some(record)
            }
            Err(e) => {
                outcome.fault = Some(format!("failed to read its session record: {e}"));
                None
            }
        },
    };
    outcome.instrumented = record.is_some();
    // The runtime says so in one line when it falls back; every measured
    // binary runs its session first, which checks.
    outcome.unwinder = out
        .stderr
        .contains(leakcheck_format::protocol::messages::UNWINDER_NOTICE);
    outcome.no_frame_pointers =
        leakcheck_format::protocol::messages::libraries_without_frame_pointers(&out.stderr);
    outcome.no_tests = announced_running(&out.stdout, 0);
    let leak_tests: &[String] = record.as_ref().map_or(&[], |r| &r.leak_tests);

    let t = out.termination;
    if t.tests_failed() {
        // A failing leak test is reported by its own run below.
        (outcome.failed_leak_tests, outcome.failed_tests) = failed_tests(&out.stdout)
            .into_iter()
            .partition(|name| leak_tests.contains(name));
        if !outcome.failed_tests.is_empty() {
            outcome.detail = failures_section(&out.stdout);
        } else if failed_tests(&out.stdout).is_empty() {
            let early = early_exit(TEST_FAILED_CODE, &out.stdout, &out.stderr);
            outcome.fault = Some(
                early.unwrap_or_else(|| format!("{} without naming a failed test", t.describe())),
            );
            outcome.detail = Some(tail(&out.stderr, 15));
        }
    } else if !t.success() {
        let early = match t {
            Termination::Exited(code) => early_exit(code, &out.stdout, &out.stderr),
            _ => None,
        };
        outcome.fault = Some(early.unwrap_or_else(|| t.describe()));
        let mut detail = tail(&format!("{}{}", out.stdout, out.stderr), 15);
        if matches!(t, Termination::TimedOut(_)) {
            // On libtest's threads a test's line comes when it ends: the
            // ones still running are the listed tests without one.
            let finished = finished_tests(&out.stdout);
            let running: Vec<&str> = listed
                .iter()
                .filter(|t| !finished.contains(t))
                .map(String::as_str)
                .collect();
            if !running.is_empty() {
                detail.push_str(&format!(
                    "\nstill running at the time limit: {}",
                    running.join(", ")
                ));
            }
        }
        outcome.detail = Some(detail);
    } else if let Some(early) = early_exit(0, &out.stdout, &out.stderr) {
        // `process::exit(0)` in a test, or a closed stdout: success, but
        // the rest never ran, or ran unseen.
        outcome.fault = Some(early);
        outcome.detail = Some(tail(&out.stdout, 15));
    }

    let Some(record) = record else {
        return (outcome, None, Vec::new());
    };
    let tests = if record.per_test.is_empty() && !record.live.is_empty() {
        // The run's own lines, else the list made before the session; in
        // libtest's one-at-a-time order, whatever order they finished in.
        let mut tests = ran_tests(&out.stdout).unwrap_or_else(|| listed.to_vec());
        if threads == Threads::Libtest {
            tests.sort();
        }
        tests
    } else {
        Vec::new()
    };
    outcome.session = session::analyse_again(
        &record,
        doubtful.as_ref().map(|(record, doubt)| (record, doubt)),
        &tests,
        &bin.name,
        cx.workspace_root,
        cx.settings.session_min_tests,
    );
    if interrupt::signal().is_none() {
        let again = |env: Vec<(OsString, OsString)>, path: &Path| {
            session_process(bin, cx, threads, path, env, timeout)
        };
        add_session_retainers(&mut outcome, scratch.path(), &env, again);
    }
    (outcome, Some(scratch), record.leak_tests)
}

/// When the session grew: runs it once more (`again`, with `env` and the
/// session file it is given) with the live blocks registered and the
/// growth sites named, and copies what retains each into its site.
fn add_session_retainers(
    outcome: &mut BinaryOutcome,
    scratch: &Path,
    env: &[(OsString, OsString)],
    again: impl Fn(Vec<(OsString, OsString)>, &Path) -> std::io::Result<ProcessOutput>,
) {
    let sites: Vec<String> = outcome
        .session
        .sites
        .iter()
        .filter(|s| s.fails())
        .map(|s| format!("{}:{}", s.file, s.line))
        .collect();
    if sites.is_empty() {
        return;
    }
    let record = scratch.join("session-retain.json");
    let out = scratch.join("retained.json");
    let mut env: Vec<(OsString, OsString)> = env
        .iter()
        .filter(|(k, _)| k != protocol_env::SESSION)
        .cloned()
        .collect();
    env.push((protocol_env::SESSION.into(), record.clone().into()));
    env.push((protocol_env::RETAIN.into(), "1".into()));
    env.push((protocol_env::RETAIN_SITES.into(), sites.join("\n").into()));
    env.push((protocol_env::RETAIN_OUT.into(), out.clone().into()));
    if again(env, &record).is_err() {
        return;
    }
    let Ok(found) = TestReport::load(&out) else {
        return;
    };
    for site in outcome.session.sites.iter_mut().filter(|s| s.fails()) {
        if let Some(f) = found
            .sites
            .iter()
            .find(|f| f.file == site.file && f.line == site.line)
        {
            site.retained_by = f.retained_by.clone();
        }
    }
}

/// How a session runs its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threads {
    /// On libtest's threads (`RUST_TEST_THREADS`, else one per CPU), as
    /// `cargo test` runs them.
    Libtest,
    /// One at a time (`--test-threads=1`), in libtest's order.
    One,
}

/// One session process; a `harness = false` target with a `main` of its
/// own that rejects libtest's flags (criterion's does) is run once more as
/// `cargo test` runs it.
fn session_process(
    bin: &TestBinary,
    cx: &RunContext<'_>,
    threads: Threads,
    session_path: &Path,
    env: Vec<(OsString, OsString)>,
    timeout: Option<Duration>,
) -> std::io::Result<ProcessOutput> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(filter) = &cx.settings.filter {
        args.push(filter.into());
    }
    if threads == Threads::One {
        args.push("--test-threads=1".into());
    }
    args.extend(user_args(&cx.settings.test_args, SESSION_OWNED));
    let run = run_logged(bin, args, env.clone(), timeout, cx);
    if let Ok(out) = &run
        && !speaks_libtest(&out.stdout)
        && matches!(out.termination, Termination::Exited(code) if code != 0)
    {
        let _ = std::fs::remove_file(session_path);
        return run_logged(bin, cargo_test_args(cx), env, timeout, cx);
    }
    run
}

/// The session record a run left, if it left one (an uninstrumented
/// binary, or one that crashed, leaves none).
fn read_record(path: &Path) -> Option<Result<SessionRecord, FileError>> {
    path.exists().then(|| SessionRecord::load(path))
}

/// Whether, and how much of, a session run on libtest's threads must run
/// again one test at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Again {
    /// The run is judged as it is.
    No,
    /// The tests in doubt ([`super::doubt`]).
    Tests(Doubt),
    /// The whole binary.
    Whole,
}

/// Whether a session run on libtest's threads (`threads` of them) must
/// run again one test at a time, as a session is judged: when the order of
/// its tests could show in what it found.
///
/// - A test left memory live at exit: which test ran first, and so filled
///   a shared cache, depends on the threads' timing. The tests in doubt
///   ([`super::doubt::in_doubt`]) run again, or the whole binary when
///   they are half its tests or more, when a site was charged to tests
///   that did not all run at once (what each left can depend on the tests
///   after it), when its
///   lines do not name its tests in the order they finished (`--quiet`, a
///   test's own output in the way), or when they may not have started in
///   name order (`--shuffle`).
/// - A test failed, or the run crashed or exited early: the whole binary,
///   as its detail must be the one-at-a-time run's, whose last `test NAME
///   ...` line names the test that was running.
///
/// Nothing runs again for a run that ran out of time (that would wait out
/// the limit twice); one that left nothing live under a test's frame, with
/// every test passed (no session site either way: the leak tests it names
/// are sorted into libtest's one-at-a-time order, the order of their
/// names); one not instrumented, or not a libtest harness (its `main` runs
/// as it likes), or whose harness already ran its tests one at a time
/// (leakcheck's own, with its exact per-test deltas); or one on one thread,
/// which is libtest's order already.
fn run_again(
    out: &ProcessOutput,
    record: Option<&Result<SessionRecord, FileError>>,
    threads: Option<usize>,
) -> Again {
    if !speaks_libtest(&out.stdout) {
        return Again::No;
    }
    // A run that ran out of time is not run again: that would wait out the
    // limit twice.
    if matches!(out.termination, Termination::TimedOut(_)) {
        return Again::No;
    }
    if !out.termination.success() || !finished_its_tests(&out.stdout) {
        return Again::Whole;
    }
    let Some(loaded) = record else {
        return Again::No;
    };
    let Ok(record) = loaded else {
        return Again::Whole;
    };
    if !record.per_test.is_empty() {
        return Again::No;
    }
    let Some(finished) = ran_tests(&out.stdout) else {
        return Again::Whole;
    };
    let sites = session::charged_sites(record, &finished);
    if sites.is_empty() || threads == Some(1) {
        return Again::No;
    }
    let charged: BTreeSet<usize> = sites.values().flatten().copied().collect();
    let Some(threads) = threads else {
        return Again::Whole;
    };
    let doubt = doubt::in_doubt(&finished, &charged, threads);
    // Memory tests that ran one after another left at one site (a
    // registry, or garbage a collector frees some tests later) depends on
    // the tests that ran after them, which a run of a few tests does not
    // have. The tests in doubt settle what one test filled first, or tests
    // that all ran at once filled together (a table that grows with the
    // threads that use it): every test charged at a site is one the last of
    // them by name started beside.
    let at_once = sites.values().all(|tests| {
        let names: Vec<&String> = tests.iter().map(|&t| &finished[t]).collect();
        let beside = names.iter().max().and_then(|last| doubt.beside.get(*last));
        beside.is_some_and(|beside| names.iter().all(|n| beside.contains(n)))
    });
    if !at_once || doubt.tests().len() * 2 >= finished.len() {
        Again::Whole
    } else {
        Again::Tests(doubt)
    }
}

/// Runs the tests in doubt again, one at a time, in libtest's order, with
/// the session's `env` but a record of their own at `path`; that record,
/// when the run passed every one of them and left it. `None` sends the
/// session to run again whole.
fn run_in_doubt(
    bin: &TestBinary,
    cx: &RunContext<'_>,
    tests: &[String],
    path: &Path,
    env: &[(OsString, OsString)],
    timeout: Option<Duration>,
) -> Option<SessionRecord> {
    let mut env: Vec<(OsString, OsString)> = env
        .iter()
        .filter(|(k, _)| k != protocol_env::SESSION)
        .cloned()
        .collect();
    env.push((protocol_env::SESSION.into(), path.into()));
    let mut args: Vec<OsString> = tests.iter().map(OsString::from).collect();
    args.push("--exact".into());
    args.push("--test-threads=1".into());
    args.extend(user_args(&cx.settings.test_args, DOUBT_OWNED));
    let out = run_logged(bin, args, env, timeout, cx).ok()?;
    if interrupt::signal().is_some() || !out.termination.success() {
        return None;
    }
    let mut ran = ran_tests(&out.stdout)?;
    ran.sort();
    if ran != tests {
        return None;
    }
    SessionRecord::load(path).ok()
}

/// The arguments `cargo test [TESTNAME] [-- ARGS]` gives a test binary.
fn cargo_test_args(cx: &RunContext<'_>) -> Vec<OsString> {
    cx.settings
        .filter
        .iter()
        .map(OsString::from)
        .chain(cx.settings.test_args.iter().map(OsString::from))
        .collect()
}

/// The outcome of a binary whose `main` is not a libtest harness: judged,
/// as `cargo test` judges it, by its exit status; its session is analysed
/// when it was instrumented (its allocations are nobody's test's).
fn own_main(
    mut outcome: BinaryOutcome,
    out: &ProcessOutput,
    record: Option<Result<SessionRecord, FileError>>,
    bin: &TestBinary,
    cx: &RunContext<'_>,
) -> BinaryOutcome {
    outcome.own_main = true;
    let t = out.termination;
    match t {
        Termination::Exited(0) => {}
        Termination::Exited(_) => {
            outcome.failed_tests = vec![format!("main ({})", t.describe())];
            outcome.detail = Some(tail(&format!("{}{}", out.stdout, out.stderr), 15));
        }
        _ => {
            outcome.fault = Some(t.describe());
            outcome.detail = Some(tail(&format!("{}{}", out.stdout, out.stderr), 15));
        }
    }
    match record {
        None => {}
        Some(Ok(record)) => {
            outcome.instrumented = true;
            outcome.session = session::analyse(
                &record,
                &[],
                &bin.name,
                cx.workspace_root,
                cx.settings.session_min_tests,
            );
        }
        Some(Err(e)) => {
            outcome
                .fault
                .get_or_insert(format!("failed to read its session record: {e}"));
        }
    }
    outcome
}

/// Test-binary flags leakcheck sets itself in a session run; libtest
/// rejects a flag given twice.
const SESSION_OWNED: &[&str] = &["--test-threads"];
/// ...and in the run of the tests in doubt, which names them exactly.
const DOUBT_OWNED: &[&str] = &["--test-threads", "--exact"];
/// ...and in a leak test's run.
const LEAK_TEST_OWNED: &[&str] = &alone::OWNED_FLAGS;

/// The user's `-- ARGS` without the flags in `owned` (as `--flag`,
/// `--flag=value` or `--flag value` for `--test-threads`).
fn user_args(args: &[String], owned: &[&str]) -> Vec<OsString> {
    let mut kept = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        if !owned.contains(&flag) {
            kept.push(OsString::from(arg));
        } else if arg == "--test-threads" {
            iter.next();
        }
    }
    kept
}

/// The environment `cargo test` gives a test, plus leakcheck's own.
fn base_env(bin: &TestBinary, cx: &RunContext<'_>) -> Vec<(OsString, OsString)> {
    let mut env = frame_cache(bin);
    env.extend([
        ("CARGO".into(), cx.cargo.clone()),
        ("CARGO_MANIFEST_DIR".into(), bin.package_root.clone().into()),
        ("CARGO_PKG_NAME".into(), bin.package.clone().into()),
        (
            protocol_env::WORKSPACE_ROOT.into(),
            cx.workspace_root.to_path_buf().into(),
        ),
        // insta would otherwise run `cargo metadata` in every process.
        (
            "INSTA_WORKSPACE_ROOT".into(),
            cx.workspace_root.to_path_buf().into(),
        ),
    ]);
    env
}

/// Where the processes of `bin` keep the frames they named, for the next
/// process of a binary to read instead of its debug info (the runtime's
/// `frame_cache.rs`): `leakcheck-frames/` in the profile's directory, beside
/// `deps/` (so `cargo clean` removes it); none for a binary elsewhere.
fn frame_cache(bin: &TestBinary) -> Vec<(OsString, OsString)> {
    let profile_dir = bin
        .path
        .parent()
        .filter(|deps| deps.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .filter(|dir| dir.is_absolute());
    profile_dir
        .map(|dir| {
            (
                protocol_env::FRAME_CACHE.into(),
                dir.join("leakcheck-frames").into_os_string(),
            )
        })
        .into_iter()
        .collect()
}

fn run_logged(
    bin: &TestBinary,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    timeout: Option<Duration>,
    cx: &RunContext<'_>,
) -> std::io::Result<ProcessOutput> {
    let spec = ProcessSpec {
        program: bin.path.clone(),
        args,
        cwd: bin.package_root.clone(),
        env,
        timeout,
    };
    if cx.settings.verbosity == Verbosity::Verbose {
        let shown: Vec<String> = spec
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        // Test names in the arguments come from the binary's own output
        // (the tests in doubt): inert, as that output is.
        cx.progress.eprintln(&neutralise::terminal(&format!(
            "     Running `{} {}`",
            relative(&spec.program.to_string_lossy(), cx.workspace_root),
            shown.join(" ")
        )));
    }
    let out = process::run(&spec)?;
    if cx.settings.verbosity == Verbosity::Verbose {
        // The test's own output, made inert a line at a time.
        for text in [&out.stdout, &out.stderr] {
            if !text.trim().is_empty() {
                let lines: Vec<String> =
                    text.trim_end().lines().map(neutralise::terminal).collect();
                cx.progress.eprintln(&lines.join("\n"));
            }
        }
    }
    Ok(out)
}

/// Runs the leak test `name` of the binary whose session is `session`,
/// alone in its own process, and prints its line.
pub fn run_leak_test(
    bin: &TestBinary,
    name: &str,
    session: &SessionRun,
    cx: &RunContext<'_>,
) -> LeakTestOutcome {
    let start = Instant::now();
    let mut outcome = match &session.scratch {
        Some(dir) => measure_alone(bin, name, &dir.path().join(report_file_name(name)), cx),
        None => fault(
            bin,
            name,
            "its session left no scratch directory".into(),
            None,
        ),
    };
    outcome.duration = Some(start.elapsed());
    if interrupt::signal().is_none() {
        let status = match outcome.status {
            LeakStatus::Clean => Status::Pass,
            LeakStatus::Accepted => Status::Accepted,
            LeakStatus::Leak => Status::Leak,
            LeakStatus::Failed => Status::Fail,
            LeakStatus::Fault => Status::Fault,
        };
        cx.progress
            .finished(&cx.paint, status, start.elapsed(), &bin.name, name, 1);
    }
    outcome
}

fn measure_alone(
    bin: &TestBinary,
    name: &str,
    report_path: &Path,
    cx: &RunContext<'_>,
) -> LeakTestOutcome {
    cx.progress.start(&format!("{}: {name}", bin.name));
    let mut outcome = measure_once(bin, name, report_path, false, cx);
    if outcome.status == LeakStatus::Leak && interrupt::signal().is_none() {
        add_retainers(bin, name, report_path, &mut outcome, cx);
    }
    outcome
}

/// Runs the leaking test `name` once more with the live blocks registered
/// (`LEAKCHECK_RETAIN=1`, no snapshot written) and copies what retains
/// each leaking site's blocks into `outcome`'s sites (matched by line).
/// A run that fails to say leaves the outcome as it was.
fn add_retainers(
    bin: &TestBinary,
    name: &str,
    report_path: &Path,
    outcome: &mut LeakTestOutcome,
    cx: &RunContext<'_>,
) {
    let path = report_path.with_extension("retain.json");
    let again = measure_once(bin, name, &path, true, cx);
    for site in &mut outcome.report.sites {
        if let Some(found) = again
            .report
            .sites
            .iter()
            .find(|s| s.file == site.file && s.line == site.line)
        {
            site.retained_by = found.retained_by.clone();
        }
    }
}

/// One run of the leak test `name` alone (`retain`: with the live blocks
/// registered, for [`add_retainers`]).
fn measure_once(
    bin: &TestBinary,
    name: &str,
    report_path: &Path,
    retain: bool,
    cx: &RunContext<'_>,
) -> LeakTestOutcome {
    let alone = AloneRun {
        test: name,
        mode: Mode::Measure,
        report: report_path,
    };
    let timeout = cx.settings.timeout_for(&bin.name, Some(name));
    let run = alone.run(|mut args, mut env| {
        args.extend(user_args(&cx.settings.test_args, LEAK_TEST_OWNED));
        let mut all = base_env(bin, cx);
        all.append(&mut env);
        let insta_update = match retain {
            true => "no",
            false => cx.settings.snapshot_mode.insta_update(),
        };
        all.push(("INSTA_UPDATE".into(), insta_update.into()));
        if retain {
            all.push((leakcheck_format::protocol::env::RETAIN.into(), "1".into()));
        }
        run_logged(bin, args, all, timeout, cx)
    });
    let (out, report) = match run {
        Ok(finished) => (finished.output, finished.report),
        Err(e) => {
            let reason = format!("failed to run `{}`: {e}", bin.path.display());
            return fault(bin, name, reason, None);
        }
    };
    let report = match report {
        None => None,
        Some(Ok(report)) => Some(report),
        Some(Err(e)) => {
            let reason = format!("its report is unreadable: {e}");
            return fault(bin, name, reason, Some(tail(&out.stderr, 15)));
        }
    };
    classify(bin, name, &out, report, cx.workspace_root)
}

/// Turns how a leak test's process ended, and its report, into a status.
pub(crate) fn classify(
    bin: &TestBinary,
    name: &str,
    out: &ProcessOutput,
    report: Option<TestReport>,
    workspace_root: &Path,
) -> LeakTestOutcome {
    let t = out.termination;
    let output = || format!("{}{}", out.stdout, out.stderr);
    let (status, report) = match (t, report) {
        (Termination::Exited(0), Some(r)) => match r.verdict {
            TestVerdict::Clean => (LeakStatus::Clean, r),
            TestVerdict::Leak => (LeakStatus::Accepted, r),
            TestVerdict::Error => {
                let reason = r
                    .error
                    .clone()
                    .unwrap_or_else(|| "could not measure".into());
                return fault(bin, name, reason, None);
            }
        },
        (t, Some(r)) if t.tests_failed() => match r.verdict {
            TestVerdict::Leak => (LeakStatus::Leak, r),
            _ => {
                let stale = || stale_leak_snapshot(&output(), workspace_root);
                let reason =
                    r.error.clone().or_else(stale).unwrap_or_else(|| {
                        match panic_message(&output()) {
                            Some(panic) => format!("the test failed: {panic}"),
                            None => "the test failed".to_owned(),
                        }
                    });
                let mut r = r;
                r.verdict = TestVerdict::Error;
                r.error = Some(reason);
                (LeakStatus::Failed, r)
            }
        },
        (t, None) if t.tests_failed() => {
            let reason = match panic_message(&output()) {
                Some(panic) => format!("the test failed before reporting: {panic}"),
                None => "the test failed before reporting".to_owned(),
            };
            let report = error_entry(&bin.name, name, &reason);
            return LeakTestOutcome {
                status: LeakStatus::Failed,
                report,
                detail: Some(tail(&output(), 15)),
                grown: false,
                snapshot: Vec::new(),
                duration: None,
            };
        }
        (Termination::Exited(code), None)
            if !finished_its_tests(&out.stdout) && panic_message(&output()).is_none() =>
        {
            let reason = early_exit(code, &out.stdout, &out.stderr).unwrap_or_else(|| {
                format!(
                    "the test exited the process with status {code} before it finished \
                     (no `test result:` line); a `std::process::exit` in the test?"
                )
            });
            return fault(bin, name, reason, Some(tail(&output(), 15)));
        }
        (Termination::Exited(0), None) => {
            let reason = "the test passed but wrote no report (is it a #[leak_test]?)";
            return fault(bin, name, reason.into(), None);
        }
        (t, _) => return fault(bin, name, t.describe(), Some(tail(&output(), 15))),
    };
    LeakTestOutcome {
        status,
        report: normalise(report, bin, name, workspace_root),
        detail: None,
        grown: false,
        snapshot: Vec::new(),
        duration: None,
    }
}

fn fault(bin: &TestBinary, name: &str, reason: String, detail: Option<String>) -> LeakTestOutcome {
    LeakTestOutcome {
        status: LeakStatus::Fault,
        report: error_entry(&bin.name, name, &reason),
        detail: detail.filter(|d| !d.trim().is_empty()),
        grown: false,
        snapshot: Vec::new(),
        duration: None,
    }
}

/// Fills in the binary, makes paths relative and rounds the rates, so the
/// report is the same on every machine and every run.
fn normalise(mut r: TestReport, bin: &TestBinary, name: &str, root: &Path) -> TestReport {
    r.binary = bin.name.clone();
    if r.name.is_empty() {
        r.name = name.to_owned();
    }
    for site in &mut r.sites {
        site.file = relative(&site.file, root);
        site.bytes_per_iter = round(site.bytes_per_iter);
        site.blocks_per_iter = round(site.blocks_per_iter);
    }
    r
}

/// Rounds to two decimals: enough to tell 1024 B/iter from 1023.5, and
/// stable under measurement noise.
pub(crate) fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(all(test, unix))]
#[path = "binary_tests.rs"]
mod tests;
