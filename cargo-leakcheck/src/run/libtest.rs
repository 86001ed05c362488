//! What a test binary's output says beyond its report, in `cargo
//! leakcheck`'s words. The output itself is read by [`leakcheck_format::protocol::libtest`]
//! and [`leakcheck_format::protocol::messages`], shared with the runtime.

use leakcheck_format::protocol::libtest::finished_its_tests;
use leakcheck_format::protocol::messages;

/// The test that was running when a test binary's output stops: the last
/// `test NAME ...` line with no result after it (one test at a time,
/// libtest prints it when the test starts; what the test's subprocesses
/// print may follow on the same line).
pub fn running_test(stdout: &str) -> Option<&str> {
    let last = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("test ")?.split_once(" ... "))?;
    let (name, rest) = last;
    let rest = rest.trim_start();
    let finished = ["ok", "FAILED", "ignored", "bench:"]
        .iter()
        .any(|r| rest.starts_with(r));
    (!finished).then(|| name.strip_suffix(" - should panic").unwrap_or(name))
}

/// Why a test binary that exited with status `code` printed no `test
/// result:` line, in one line: the test that was running exited the
/// process (`std::process::exit`), or a test closed stdout, where the
/// results went. `None` when it printed one, or when nothing tells.
pub fn early_exit(code: i32, stdout: &str, stderr: &str) -> Option<String> {
    if finished_its_tests(stdout) {
        return None;
    }
    let running = running_test(stdout);
    let closed = stderr
        .lines()
        .any(|l| l.starts_with(messages::STDOUT_CLOSED));
    let summary = "(no `test result:` line)";
    Some(match (closed, running) {
        (true, Some(test)) => format!(
            "its stdout (fd 1) was closed during test `{test}`, and libtest's results were lost \
             with it; it exited with status {code} {summary}"
        ),
        (true, None) => format!(
            "its stdout (fd 1) was closed, and libtest's results were lost with it; \
             it exited with status {code} {summary}"
        ),
        (false, Some(test)) => format!(
            "test `{test}` exited the process with status {code} before the run \
             finished {summary}; a `std::process::exit` in the test?"
        ),
        (false, None) if code == 0 => format!(
            "exited with status 0 before its tests finished {summary}; \
             a test called `std::process::exit`?"
        ),
        (false, None) => return None,
    })
}

/// A leak test that no longer leaks while its accepted leak snapshot still
/// records a leak: what to do about it, in one line (the runtime's panic
/// says it, after insta's own where insta handles the snapshot).
pub fn stale_leak_snapshot(output: &str, workspace_root: &std::path::Path) -> Option<String> {
    let stale = messages::stale_leak_snapshot(output)?;
    let snapshot = stale.snapshot.map(|path| {
        std::path::Path::new(&path)
            .strip_prefix(workspace_root)
            .map_or(path.clone(), |p| p.display().to_string())
    });
    let snapshot = snapshot.map_or(String::new(), |p| format!(" {p}"));
    Some(format!(
        "no longer leaks, but its accepted leak snapshot{snapshot} still records a leak: \
         delete the snapshot, or re-accept the report with `cargo leakcheck --accept`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_test_is_the_last_one_started_without_a_result() {
        let one_at_a_time = "\
running 3 tests
test a_runs_first ... ok
test b_exits_with_3 ... ";
        assert_eq!(running_test(one_at_a_time), Some("b_exits_with_3"));
        // What a subprocess printed follows on the same line.
        let noisy = "test a ... ok\ntest b - should panic ... subprocess says hi\n";
        assert_eq!(running_test(noisy), Some("b"));
        assert_eq!(running_test("test a ... ok\ntest b ... FAILED\n"), None);
        assert_eq!(running_test("test a ... ignored, slow\n"), None);
        assert_eq!(running_test("running 2 tests\n"), None);
    }

    #[test]
    fn an_early_exit_names_the_test_and_the_status() {
        let started = "running 3 tests\ntest a ... ok\ntest b_exits ... \n";
        assert_eq!(
            early_exit(3, started, "").unwrap(),
            "test `b_exits` exited the process with status 3 before the run finished \
             (no `test result:` line); a `std::process::exit` in the test?"
        );
        let closed = format!("{}; what was written...\n", messages::STDOUT_CLOSED);
        assert_eq!(
            early_exit(0, started, &closed).unwrap(),
            "its stdout (fd 1) was closed during test `b_exits`, and libtest's results were \
             lost with it; it exited with status 0 (no `test result:` line)"
        );
        assert_eq!(
            early_exit(0, "", &closed).unwrap(),
            "its stdout (fd 1) was closed, and libtest's results were lost with it; it \
             exited with status 0 (no `test result:` line)"
        );
        assert_eq!(
            early_exit(0, "running 1 test\n", "").unwrap(),
            "exited with status 0 before its tests finished (no `test result:` line); \
             a test called `std::process::exit`?"
        );
        assert_eq!(early_exit(3, "running 1 test\n", ""), None);
        let finished = format!("{started}test result: ok. 1 passed\n");
        assert_eq!(early_exit(0, &finished, ""), None);
    }

    /// A failed test's panic that is not about a leak snapshot.
    const OTHER_PANIC: &str = "\
---- tests::b stdout ----
thread 'tests::b' panicked at src/lib.rs:5:9:
boom
";

    #[test]
    fn a_stale_leak_snapshot_is_named_after_insta_s_panic() {
        let out = "\
thread 'fixed_cache' panicked at /registry/insta-1.49.0/src/runtime.rs:734:13:
snapshot assertion for 'fixed_cache_leaks' failed in line 4
thread 'fixed_cache' panicked at tests/fixed.rs:4:1:
fixed_cache no longer leaks, but its leak snapshot /ws/tests/snapshots/fixed__fixed_cache_leaks.snap still records a leak (snapshot assertion for 'fixed_cache_leaks' failed in line 4); accept the new report with `cargo insta review` or delete the snapshot
";
        assert_eq!(
            stale_leak_snapshot(out, std::path::Path::new("/ws")).unwrap(),
            "no longer leaks, but its accepted leak snapshot \
             tests/snapshots/fixed__fixed_cache_leaks.snap still records a leak: \
             delete the snapshot, or re-accept the report with `cargo leakcheck --accept`"
        );
        assert_eq!(
            stale_leak_snapshot(OTHER_PANIC, std::path::Path::new("/ws")),
            None
        );
    }
}
