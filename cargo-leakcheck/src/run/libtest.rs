//! What a test binary's output says beyond its report, in `cargo
//! leakcheck`'s words. The output itself is read by [`leakcheck_rt::protocol::libtest`]
//! and [`leakcheck_rt::protocol::messages`], shared with the runtime.

use leakcheck_rt::protocol::messages;

/// A leak test that no longer leaks while its accepted leak snapshot still
/// records a leak: what to do about it, in one line (the runtime's panic
/// says it amid insta's own, which comes first).
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

/// The tests a libtest run ran, from its `test NAME ... RESULT` lines, in
/// the order they finished (libtest's own order when they ran one at a
/// time); `None` when those lines do not account for every test its `test
/// result:` lines count (`--quiet`, `--format json`, or a test's own output
/// in the way), so that `--list` must say.
pub fn ran_tests(stdout: &str) -> Option<Vec<String>> {
    let names: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.split_once(" ... "))
        .map(|(name, _)| name.strip_suffix(" - should panic").unwrap_or(name))
        .map(str::to_owned)
        .collect();
    let mut counted = 0;
    let mut summaries = 0;
    for line in stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: "))
    {
        summaries += 1;
        for part in line.split(';') {
            let mut words = part.split_whitespace().rev();
            if let (Some("passed" | "failed" | "ignored"), Some(n)) = (words.next(), words.next()) {
                counted += n.parse::<usize>().ok()?;
            }
        }
    }
    (summaries == 1 && names.len() == counted).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tests_a_run_ran_are_its_progress_lines_when_they_add_up() {
        let out = "\
running 4 tests
test a::first ... ok
test a::panics - should panic ... ok
test b ... ignored, slow
test c ... FAILED

failures:

---- c stdout ----
test inside c ... printed by the test

failures:
    c

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 3 filtered out; finished in 0.01s
";
        // The line a test printed makes five names for four tests.
        assert_eq!(ran_tests(out), None);
        let out = out.replace("test inside c ... printed by the test\n", "");
        assert_eq!(
            ran_tests(&out).unwrap(),
            ["a::first", "a::panics", "b", "c"]
        );
        // `--quiet`: dots, no names.
        let quiet = "running 2 tests\n..\ntest result: ok. 2 passed; 0 failed; 0 ignored\n";
        assert_eq!(ran_tests(quiet), None);
        // No summary (the run died): the names may be short of the tests.
        assert_eq!(ran_tests("running 2 tests\ntest a ... ok\n"), None);
        let none = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored\n";
        assert_eq!(ran_tests(none).unwrap(), Vec::<String>::new());
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
