//! The runtime's messages that a runner reads back from a test's output.

use std::path::Path;

/// How the first line a process prints on stderr begins when it has no
/// frame pointers and falls back to the DWARF unwinder (the allocator
/// prints it, once per process); a runner reads it back to report the
/// binary as slow to trace.
/// (The allocation engine prints it with a copy of this text, which
/// leakcheck-rt's tests hold to this one: `cargo leakcheck` links no
/// engine.)
pub const UNWINDER_NOTICE: &str = "leakcheck: this binary has no frame pointers";

/// How the line begins that a process prints on stderr, once per library,
/// when a frame-pointer walk ended in a library built without frame
/// pointers (its code keeps something else in the frame-pointer
/// register), so the frames that called into it are not in the stack.
const STACKS_END_IN: &str = "leakcheck: stacks end in ";
/// What follows the library's name (and its function, in parentheses).
const NO_FRAME_POINTERS: &str = ", which has no frame pointers";

/// The line a process prints when stacks end in `library`, at `function`.
pub fn stacks_end_in(library: &str, function: &str) -> String {
    format!(
        "{STACKS_END_IN}{library} ({function}){NO_FRAME_POINTERS}: the frames that called \
         into it are not recorded; build it with -fno-omit-frame-pointer"
    )
}

/// The libraries named by [`stacks_end_in`] lines in a process's stderr,
/// in order, each once.
pub fn libraries_without_frame_pointers(stderr: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix(STACKS_END_IN) else {
            continue;
        };
        let Some((library, _)) = rest.split_once(" (") else {
            continue;
        };
        if rest.contains(NO_FRAME_POINTERS) && !found.iter().any(|l| l == library) {
            found.push(library.to_owned());
        }
    }
    found
}

/// How the line begins that a session's test binary prints on stderr at
/// exit when its stdout (fd 1) was closed: std drops writes to a closed
/// stdout silently, so libtest's results are missing without a trace.
pub const STDOUT_CLOSED: &str = "leakcheck: stdout (fd 1) was closed";

/// What follows the test's name in the panic of a leak test that no
/// longer leaks while its leak snapshot still records a leak.
const NO_LONGER_LEAKS: &str = " no longer leaks, but its leak snapshot ";
/// What follows the snapshot's path in that panic.
const STILL_RECORDS: &str = " still records a leak";

/// The panic of a leak test `test` that no longer leaks while its leak
/// snapshot `snapshot` still records a leak; `insta` is insta's account
/// of the mismatch.
pub fn no_longer_leaks(test: &str, snapshot: &Path, insta: &str) -> String {
    format!(
        "{test}{NO_LONGER_LEAKS}{}{STILL_RECORDS} ({insta}); \
         accept the new report with `cargo insta review` or delete the snapshot",
        snapshot.display()
    )
}

/// A [`no_longer_leaks`] panic found in a test's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleLeakSnapshot {
    /// The snapshot file it names, when the message could be read that far.
    pub snapshot: Option<String>,
}

/// The last [`no_longer_leaks`] panic in `output` (where insta handles
/// the snapshot, its own panic comes first).
pub fn stale_leak_snapshot(output: &str) -> Option<StaleLeakSnapshot> {
    let message = super::libtest::panic_messages(output)
        .into_iter()
        .rev()
        .find(|m| m.contains(NO_LONGER_LEAKS))?;
    let rest = &message[message.find(NO_LONGER_LEAKS)? + NO_LONGER_LEAKS.len()..];
    let snapshot = rest.find(STILL_RECORDS).map(|end| rest[..end].to_owned());
    Some(StaleLeakSnapshot { snapshot })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_without_frame_pointers_read_back_once_each() {
        let stderr = format!(
            "noise\n{}\n{}\n{}\nleakcheck: stacks end in nowhere\n",
            stacks_end_in("libnofp.so", "nofp_keep"),
            stacks_end_in("libcrypto.so.3", "CRYPTO_zalloc"),
            stacks_end_in("libnofp.so", "nofp_other"),
        );
        assert_eq!(
            libraries_without_frame_pointers(&stderr),
            ["libnofp.so", "libcrypto.so.3"]
        );
    }

    #[test]
    fn the_panic_reads_back() {
        let panic = no_longer_leaks(
            "fixed_cache",
            Path::new("/ws/tests/snapshots/fixed__fixed_cache_leaks.snap"),
            "snapshot assertion for 'fixed_cache_leaks' failed in line 4",
        );
        let output = format!("thread 'fixed_cache' panicked at tests/fixed.rs:4:1:\n{panic}\n");
        assert_eq!(
            stale_leak_snapshot(&output).unwrap().snapshot.as_deref(),
            Some("/ws/tests/snapshots/fixed__fixed_cache_leaks.snap")
        );
        assert_eq!(
            stale_leak_snapshot("thread 'x' panicked at a.rs:1:1:\nboom\n"),
            None
        );
    }
}
