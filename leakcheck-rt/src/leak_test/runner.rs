//! Runs one `#[leak_test]`: picks where to measure, measures, and turns
//! the report into a pass, a failure or a snapshot check.
//!
//! ```text
//!  session (cargo leakcheck runs the whole binary) ──► note the test, run the body `warmup` times
//!  LEAKCHECK_MODE=child ──► measure here ──► write LEAKCHECK_REPORT ──► pass (the parent judges)
//!  LEAKCHECK_MODE=measure, or nextest ──► measure here ──► write LEAKCHECK_REPORT if set ──► conclude
//!  otherwise (libtest's parallel runner) ──► re-run this test alone in a child ──► conclude on its report
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use super::LeakTestConfig;
use super::isolate;
use super::leak_loop::{LeakLoop, Purpose};
use super::leak_snapshot::{self, HOW_TO_ACCEPT, Mismatch};
use leakcheck_format::leak_text as render;
use leakcheck_format::protocol::env;
use leakcheck_format::protocol::messages;
use leakcheck_format::report::{TestReport, TestVerdict};

/// Where this process measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The whole binary runs as a `cargo leakcheck` session.
    Session,
    /// A child run by [`Mode::Parent`]: measure and report only.
    Child,
    /// Alone in the process (nextest, `cargo leakcheck`): measure and judge.
    InPlace,
    /// Beside other tests: measure in a child.
    Parent,
}

fn mode(test_name: &str) -> Mode {
    if crate::session::is_active() {
        return Mode::Session;
    }
    match env::Mode::from_env() {
        Some(env::Mode::Child) => return Mode::Child,
        Some(env::Mode::Measure) => return Mode::InPlace,
        None => {}
    }
    if isolate::alone_under_nextest(test_name) {
        return Mode::InPlace;
    }
    Mode::Parent
}

/// Entry point of the code `#[leak_test]` generates for `fn name()`.
///
/// `check_snapshot` asserts the normalised report as an `insta` snapshot in
/// the test crate's context; it is called when growth is found or the
/// test's leak snapshot already exists.
pub fn run_leak_test(
    config: &LeakTestConfig,
    body: &mut dyn FnMut(),
    check_snapshot: &dyn Fn(&str),
) {
    run_leak_loop(config, &mut |lt| lt.iter(|_| body()), check_snapshot);
}

/// Entry point of the code `#[leak_test]` generates for
/// `fn name(lt: &mut LeakLoop)`: `test` is the whole function, which
/// builds its state and calls [`LeakLoop::iter`] once.
pub fn run_leak_loop(
    config: &LeakTestConfig,
    test: &mut dyn FnMut(&mut LeakLoop),
    check_snapshot: &dyn Fn(&str),
) {
    run(
        config,
        &mut |purpose| {
            let mut lt = LeakLoop::new(config, purpose);
            test(&mut lt);
            lt.finish()
        },
        check_snapshot,
    );
}

/// Runs a leak test in the mode this process is in. `test` runs the whole
/// test function for a purpose and returns the measured report (`None` for
/// [`Purpose::Warmup`]).
pub(crate) fn run(
    config: &LeakTestConfig,
    test: &mut dyn FnMut(Purpose) -> Option<TestReport>,
    check_snapshot: &dyn Fn(&str),
) {
    // A leak test called from inside another's run (its function called by
    // another leak test's body) is that body's code: measuring it too
    // would stop the outer test's tracing and report it a second time, in
    // a session note it twice.
    let Some(_running) = Running::enter() else {
        test(Purpose::Warmup);
        return;
    };
    // The runner's own memory comes from `System`, like the tracker's.
    match leakcheck_engine::as_tracker(|| mode(&config.test_name())) {
        Mode::Session => {
            crate::session::note_leak_test(&config.test_name());
            test(Purpose::Warmup);
        }
        Mode::Child => {
            isolate::die_with_parent();
            // An expected panic is an error report here: the parent relays
            // it as a panic of its own, which its `#[should_panic]` expects.
            let report = measure_and_write(config, test, false);
            if report.verdict == TestVerdict::Error {
                panic!("{}", report.error.unwrap_or_default());
            }
        }
        Mode::InPlace => {
            let report = measure_and_write(config, test, true);
            if report.verdict == TestVerdict::Error {
                panic!("{}", report.error.unwrap_or_default());
            }
            conclude(config, &report, check_snapshot);
        }
        Mode::Parent => match isolate::run_in_child(&config.test_name()) {
            Ok(report) => conclude(config, &report, check_snapshot),
            Err(failure) => panic!("{}", failure.0),
        },
    }
}

/// The note on the report of a test that panicked as its `#[should_panic]`
/// expects.
pub(crate) const EXPECTED_PANIC: &str =
    "the test panicked as its `#[should_panic]` expects; its allocations were not judged";

thread_local! {
    static RUNNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A leak test running on this thread; `None` when one already is.
struct Running;

impl Running {
    fn enter() -> Option<Running> {
        // No `Running` is made when one is running: dropping it would
        // clear the flag.
        if RUNNING.replace(true) {
            None
        } else {
            Some(Running)
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.set(false);
    }
}

/// Stops tracing when dropped.
struct StopTracing;

impl Drop for StopTracing {
    fn drop(&mut self) {
        crate::stop();
    }
}

/// Measures here and writes the report to `LEAKCHECK_REPORT` when set.
/// A panic while measuring is written as an error report, then passed on;
/// with `expected_panic_passes`, one that the test's `#[should_panic]`
/// expects is written as a clean report that says nothing was judged (the
/// test passes, as under `cargo test`).
fn measure_and_write(
    config: &LeakTestConfig,
    test: &mut dyn FnMut(Purpose) -> Option<TestReport>,
    expected_panic_passes: bool,
) -> TestReport {
    let path = leakcheck_engine::as_tracker(|| std::env::var_os(env::REPORT));
    let measured = panic::catch_unwind(AssertUnwindSafe(|| {
        // Tracing starts before the test function builds its state (and
        // before an async test's runtime), so that state is part of the
        // baseline: a block of it replaced during the loop nets out
        // instead of showing as growth. The measured loop stops tracing;
        // the guard stops it when the setup panics.
        crate::start(config.frames);
        let _stop = StopTracing;
        test(Purpose::Measure).expect("a measured loop has a report")
    }));
    leakcheck_engine::as_tracker(|| {
        let report = match &measured {
            Ok(report) => report.clone(),
            Err(payload)
                if expected_panic_passes
                    && config.expects_panic(&leak_snapshot::panic_message(payload.as_ref())) =>
            {
                TestReport {
                    binary: String::new(),
                    name: config.test_name(),
                    verdict: TestVerdict::Clean,
                    iters: 0,
                    sites: Vec::new(),
                    error: None,
                    warnings: vec![EXPECTED_PANIC.to_owned()],
                }
            }
            Err(payload) => TestReport {
                binary: String::new(),
                name: config.test_name(),
                verdict: TestVerdict::Error,
                iters: 0,
                sites: Vec::new(),
                error: Some(format!(
                    "the leak test panicked: {}",
                    leak_snapshot::panic_message(payload.as_ref())
                )),
                warnings: Vec::new(),
            },
        };
        if let Some(path) = path
            && let Err(e) = isolate::write_report(Path::new(&path), &report)
        {
            eprintln!(
                "leakcheck: failed to write the leak test report {}: {e}",
                Path::new(&path).display()
            );
        }
        crate::symbolize::save_frames();
    });
    match measured {
        Ok(report) => report,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Passes, or fails with the report; with `snapshot = true`, a leak (or an
/// existing snapshot) is checked against the accepted snapshot instead.
fn conclude(config: &LeakTestConfig, report: &TestReport, check_snapshot: &dyn Fn(&str)) {
    let leak = report.verdict == TestVerdict::Leak;
    let message = || render::failure_message(report, config.warmup);
    if !config.snapshot || !(leak || leak_snapshot::snapshot_path(config).exists()) {
        if leak {
            panic!("{}", message());
        }
        return;
    }
    let text = render::normalised(report);
    match leak_snapshot::check(config, &text, check_snapshot) {
        Ok(moved) if leak => {
            println!(
                "leakcheck: {} leaks, as its accepted snapshot says:\n{}",
                report.name,
                message()
            );
            for line in moved {
                println!("leakcheck: {line}");
            }
        }
        Ok(_) => {}
        Err(mismatch) if leak => panic!("{}", differs(&message(), &mismatch)),
        Err(mismatch) => panic!(
            "{}",
            messages::no_longer_leaks(
                &report.name,
                &leak_snapshot::snapshot_path(config),
                &mismatch.summary()
            )
        ),
    }
}

/// The one failure of a leak that differs from its accepted snapshot: the
/// report, what differs, and the `.snap.new` to review.
fn differs(message: &str, mismatch: &Mismatch) -> String {
    let mut out = format!(
        "{}\n\nthis leak report is new or differs from the accepted snapshot:\n",
        message.trim_end()
    );
    for change in &mismatch.changes {
        out.push_str("  ");
        out.push_str(change);
        out.push('\n');
    }
    match &mismatch.pending {
        Some(pending) => out.push_str(&format!(
            "the new report is in {}; {HOW_TO_ACCEPT}",
            pending.display()
        )),
        None => out.push_str(HOW_TO_ACCEPT),
    }
    out
}
