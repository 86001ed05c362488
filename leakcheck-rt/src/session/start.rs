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

use std::ffi::OsStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::alloc::{self, EnvValue};
use crate::protocol::env;

/// Frames kept per allocation in a session run.
pub(crate) const SESSION_NFRAME: usize = 64;

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// `LEAKCHECK_SESSION` as the process started with it.
static SESSION_FILE: OnceLock<EnvValue> = OnceLock::new();
/// `LEAKCHECK_WORKSPACE_ROOT` as the process started with it.
static WORKSPACE_ROOT: OnceLock<EnvValue> = OnceLock::new();

/// `true` when this process runs as a `cargo leakcheck` session.
pub(crate) fn active() -> bool {
    ACTIVE.load(Relaxed)
}

/// The file the session record is written to, as the process started with
/// it (`None` when it is not a session).
pub(crate) fn session_file() -> Option<&'static OsStr> {
    SESSION_FILE.get().map(EnvValue::as_os_str)
}

/// `LEAKCHECK_WORKSPACE_ROOT` as a session process started with it.
pub(crate) fn workspace_root() -> Option<&'static OsStr> {
    WORKSPACE_ROOT.get().map(EnvValue::as_os_str)
}

/// Called once by the tracking allocator, on the process's first
/// allocation: starts the session when `cargo leakcheck` asked for one.
pub(crate) fn on_first_allocation() {
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
    let _ = std::panic::catch_unwind(super::write_at_exit);
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
                crate::protocol::messages::STDOUT_CLOSED
            );
        }
    }
}
