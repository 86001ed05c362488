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

#[cfg(test)]
mod tests {
    use super::*;

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
