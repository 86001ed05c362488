//! What a session records as it runs (the leak tests it ran, what each
//! test left live under the harness) and the record written at exit.

use std::sync::Mutex;

use super::state;
use leakcheck_engine::{self as alloc, Guard};
use leakcheck_format::protocol::env;
use leakcheck_format::session_record::{TestDelta, record_json};
use leakcheck_format::snapshot::{Snapshot, Trace};

static LEAK_TESTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static PER_TEST: Mutex<Vec<TestDelta>> = Mutex::new(Vec::new());

/// `true` when this process runs as a `cargo leakcheck` session.
pub fn is_active() -> bool {
    state::active()
}

/// Records that the session ran the `#[leak_test]` named `name` (once,
/// however often it ran).
pub fn note_leak_test(name: &str) {
    let _guard = Guard::enter();
    let mut tests = lock(&LEAK_TESTS);
    if !tests.iter().any(|t| t == name) {
        tests.push(name.to_owned());
    }
}

#[cfg_attr(not(feature = "harness"), allow(dead_code))]
pub(crate) fn note_test_delta(test: &str, retained: Snapshot) {
    let _guard = Guard::enter();
    lock(&PER_TEST).push(TestDelta {
        test: test.to_owned(),
        retained: retained.into(),
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What grew from `before` to `after`, trace by trace.
#[cfg_attr(not(feature = "harness"), allow(dead_code))]
pub(crate) fn retained(before: &Snapshot, after: &Snapshot) -> Snapshot {
    let old: std::collections::HashMap<_, _> = before
        .traces()
        .iter()
        .map(|t| (&t.traceback, (t.size, t.count)))
        .collect();
    let traces = after
        .traces()
        .iter()
        .filter_map(|t| {
            let (s, c) = old.get(&t.traceback).copied().unwrap_or((0, 0));
            (t.count > c || t.size > s).then(|| Trace {
                traceback: t.traceback.clone(),
                size: t.size.saturating_sub(s),
                count: t.count.saturating_sub(c),
            })
        })
        .collect();
    Snapshot::from_traces(traces, after.traceback_limit())
}

/// Writes the session record; registered to run at exit.
pub(crate) fn write_at_exit() {
    let _guard = Guard::enter();
    // Read at start: the tests may have cleared the environment since.
    let Some(path) = state::session_file() else {
        return;
    };
    let leak_tests = std::mem::take(&mut *lock(&LEAK_TESTS));
    let per_test = std::mem::take(&mut *lock(&PER_TEST));
    // The live blocks go from their counts to the file form directly: a
    // `Snapshot` of them would hold every frame of every stack.
    let live = crate::take::file_snapshot_now();
    let text = record_json(&leak_tests, &per_test, live);
    let path = std::path::PathBuf::from(path);
    if let Err(err) = leakcheck_format::atomic_file::write(&path, &text) {
        eprintln!(
            "leakcheck: failed to write the session record {}: {err}",
            path.display()
        );
    }
    write_retainers();
    crate::symbolize::save_frames();
}

/// In the session run made once more for session growth (the live blocks
/// registered): what retains each site `cargo leakcheck` names, written
/// as a test report whose sites carry `retained_by`.
fn write_retainers() {
    use leakcheck_format::report::{SiteReport, SiteVerdict, TestReport, TestVerdict};
    if !crate::retain::enabled() {
        return;
    }
    let (Some(sites), Some(out)) = (
        alloc::env_value(env::RETAIN_SITES),
        alloc::env_value(env::RETAIN_OUT),
    ) else {
        return;
    };
    let mut reports: Vec<SiteReport> = sites
        .as_os_str()
        .to_string_lossy()
        .lines()
        .filter_map(|l| l.rsplit_once(':'))
        .filter_map(|(file, line)| Some((file.to_owned(), line.parse().ok()?)))
        .map(|(file, line)| SiteReport {
            retained_by: Vec::new(),
            file,
            line,
            function: String::new(),
            verdict: SiteVerdict::Leak,
            bytes_per_iter: 0.0,
            blocks_per_iter: 0.0,
            size_diff: 0,
            count_diff: 0,
            traceback: Vec::new(),
            series: Vec::new(),
            caller: None,
        })
        .collect();
    crate::retain::annotate(&mut reports);
    let report = TestReport {
        binary: String::new(),
        name: "session".into(),
        verdict: TestVerdict::Leak,
        iters: 0,
        sites: reports,
        error: None,
        warnings: Vec::new(),
    };
    if let Err(err) = report.write_atomic(std::path::Path::new(out.as_os_str())) {
        eprintln!("leakcheck: failed to write what retains the session's growth: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leak_test_is_noted_once() {
        note_leak_test("nested::inner");
        note_leak_test("nested::outer");
        note_leak_test("nested::inner");
        let tests = lock(&LEAK_TESTS).clone();
        let inner = tests.iter().filter(|t| *t == "nested::inner").count();
        assert_eq!(inner, 1, "{tests:?}");
        assert!(tests.iter().any(|t| t == "nested::outer"), "{tests:?}");
    }
}
