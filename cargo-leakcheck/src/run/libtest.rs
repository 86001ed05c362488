//! Reading a test binary's output: failed tests, their messages, panics.

/// The tests libtest (or libtest-mimic) reports as failed, in its order.
///
/// Uses the closing `failures:` list, which stays intact even when the
/// tests' own output (`--nocapture`) is interleaved with the progress
/// lines; falls back to `test NAME ... FAILED` lines.
pub fn failed_tests(stdout: &str) -> Vec<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    if let Some(last) = lines.iter().rposition(|l| l.trim_end() == "failures:") {
        let names: Vec<String> = lines[last + 1..]
            .iter()
            .skip_while(|l| l.trim().is_empty())
            .take_while(|l| l.starts_with("    ") && !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
            .collect();
        if !names.is_empty() {
            return names;
        }
    }
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect()
}

/// libtest's account of the failures (`---- name stdout ----` blocks), at
/// most 40 lines.
pub fn failures_section(stdout: &str) -> Option<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let first = lines.iter().position(|l| l.trim_end() == "failures:")?;
    let last = lines.iter().rposition(|l| l.trim_end() == "failures:")?;
    if last <= first {
        return None;
    }
    let body: Vec<&str> = lines[first + 1..last]
        .iter()
        .copied()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let text = body.join("\n").trim_end().to_owned();
    (!text.is_empty()).then(|| tail_head(&text, 40))
}

/// The first panic in `output`, as `panicked at FILE:LINE:COL: MESSAGE`.
pub fn panic_message(output: &str) -> Option<String> {
    panic_messages(output).into_iter().next()
}

/// A leak test that no longer leaks while its accepted leak snapshot still
/// records a leak: what to do about it, in one line (the runtime's panic
/// says it amid insta's own, which comes first).
pub fn stale_leak_snapshot(output: &str, workspace_root: &std::path::Path) -> Option<String> {
    const MARK: &str = " no longer leaks, but its leak snapshot ";
    let message = panic_messages(output)
        .into_iter()
        .rev()
        .find(|m| m.contains(MARK))?;
    let rest = &message[message.find(MARK)? + MARK.len()..];
    let snapshot = rest
        .find(" still records a leak")
        .map(|end| &rest[..end])
        .map(|path| {
            std::path::Path::new(path)
                .strip_prefix(workspace_root)
                .map_or(path.to_owned(), |p| p.display().to_string())
        });
    let snapshot = snapshot.map_or(String::new(), |p| format!(" {p}"));
    Some(format!(
        "no longer leaks, but its accepted leak snapshot{snapshot} still records a leak: \
         delete the snapshot, or re-accept the report with `cargo leakcheck --accept`"
    ))
}

/// Every panic in `output`, in order.
fn panic_messages(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        let Some(at) = line.find("panicked at ") else {
            continue;
        };
        let rest = &line[at..];
        // Since Rust 1.73 the message is on the next line.
        if let Some(location) = rest.strip_suffix(':') {
            let message = lines.next().unwrap_or("").trim();
            found.push(format!("{location}: {message}"));
        } else {
            found.push(rest.to_owned());
        }
    }
    found
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .trim_end()
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(n);
    let mut out = lines[start..].join("\n");
    if start > 0 {
        out.insert_str(0, "...\n");
    }
    out
}

/// The first `n` lines of `text`.
fn tail_head(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return text.to_owned();
    }
    format!("{}\n...", lines[..n].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBTEST: &str = "
running 3 tests
test tests::a ... ok
test tests::b ... FAILED
test tests::c ... ok

failures:

---- tests::b stdout ----

thread 'tests::b' panicked at src/lib.rs:5:9:
boom
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::b

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

";

    #[test]
    fn failed_tests_come_from_the_closing_list() {
        assert_eq!(failed_tests(LIBTEST), ["tests::b"]);
    }

    #[test]
    fn interleaved_output_falls_back_to_result_lines() {
        let out = "test x ... FAILED\ntest y ... ok\ntest z ... FAILED\n";
        assert_eq!(failed_tests(out), ["x", "z"]);
        assert!(failed_tests("running 0 tests\n").is_empty());
    }

    #[test]
    fn failures_section_holds_the_messages() {
        let section = failures_section(LIBTEST).unwrap();
        assert!(
            section.starts_with("---- tests::b stdout ----"),
            "{section}"
        );
        assert!(section.contains("boom"), "{section}");
        assert!(!section.contains("test result"), "{section}");
    }

    #[test]
    fn panics_old_and_new() {
        assert_eq!(
            panic_message(LIBTEST).unwrap(),
            "panicked at src/lib.rs:5:9: boom"
        );
        assert_eq!(
            panic_message("thread 'main' panicked at 'boom', src/lib.rs:5:9\n").unwrap(),
            "panicked at 'boom', src/lib.rs:5:9"
        );
        assert_eq!(panic_message("all fine\n"), None);
    }

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
            stale_leak_snapshot(LIBTEST, std::path::Path::new("/ws")),
            None
        );
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("a\nb\nc\n", 2), "...\nb\nc");
        assert_eq!(tail("\n\na\nb\n", 5), "a\nb");
    }
}
