//! When a process is a session: `cargo leakcheck` sets
//! `LEAKCHECK_SESSION=<file>`, and the process's first allocation (usually
//! before `main`) starts tracing at once, for good, and registers the
//! writer of the session record at exit.
//!
//! [`on_first_allocation`] is the one hook the allocator calls out; it runs
//! inside that first allocation, so it allocates nothing itself (what the
//! frame-pointer check allocates is the tracker's own, and untracked).
//!
//! What the session needs from the environment (the record's file, the
//! workspace root) is copied there too: a test may change or clear the
//! environment (`std::env::remove_var`) long before the record is written
//! at exit, and the run would then measure nothing.

use std::sync::atomic::Ordering::Relaxed;

use super::record::write_at_exit;
use super::state::{ACTIVE, SESSION_FILE, SESSION_NFRAME, WORKSPACE_ROOT};
use leakcheck_engine as alloc;
use leakcheck_format::protocol::env;

/// Called once by the tracking allocator, on the process's first
/// allocation: starts the session when `cargo leakcheck` asked for one.
pub(crate) fn on_first_allocation() {
    // The run that looks for what retains a leak registers every block
    // from here on.
    if alloc::env_value(env::RETAIN).is_some_and(|v| v.as_os_str() == "1") {
        alloc::retain_blocks();
    }
    // Copying into the statics allocates nothing (`OnceLock::set` moves
    // the value in).
    let Some(file) = alloc::env_value(env::SESSION) else {
        return;
    };
    let _ = SESSION_FILE.set(file);
    if let Some(root) = alloc::env_value(env::WORKSPACE_ROOT) {
        let _ = WORKSPACE_ROOT.set(root);
    }
    ACTIVE.store(true, Relaxed);
    // `cargo leakcheck` builds with frame pointers forced on, but a walk
    // that is wrong would charge memory to the wrong tests (the harness's
    // frames, `std::rt::lang_start`), so tracing checks too, before
    // anything is recorded.
    alloc::start_owned(SESSION_NFRAME);
    alloc::at_exit(at_exit);
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(write_at_exit);
    let _ = std::panic::catch_unwind(note_closed_stdout);
}

/// Says so on stderr when a test closed stdout: what libtest wrote to it
/// afterwards (its results) was dropped without an error.
fn note_closed_stdout() {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsFd;
        let stdout = std::io::stdout();
        if rustix::io::fcntl_getfd(stdout.as_fd()) == Err(rustix::io::Errno::BADF) {
            eprintln!(
                "{}; what was written to it afterwards, libtest's results among it, is lost",
                leakcheck_format::protocol::messages::STDOUT_CLOSED
            );
        }
    }
}
