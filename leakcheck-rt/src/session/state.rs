//! What a session needs from the environment, copied when the process
//! starts (see `start.rs`): a test may change or clear the environment
//! (`std::env::remove_var`) long before the record is written at exit.

use std::ffi::OsStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use leakcheck_engine::EnvValue;

/// Frames kept per allocation in a session run.
pub(crate) const SESSION_NFRAME: usize = 64;

pub(super) static ACTIVE: AtomicBool = AtomicBool::new(false);
/// `LEAKCHECK_SESSION` as the process started with it.
pub(super) static SESSION_FILE: OnceLock<EnvValue> = OnceLock::new();
/// `LEAKCHECK_WORKSPACE_ROOT` as the process started with it.
pub(super) static WORKSPACE_ROOT: OnceLock<EnvValue> = OnceLock::new();

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
