//! Sessions: a whole test binary run once under `cargo leakcheck`, and what
//! it left live at exit.
//!
//! `cargo leakcheck` sets `LEAKCHECK_SESSION=<file>`; the tracking allocator
//! sees it on the process's first allocation, starts tracing at once, and
//! writes a [`SessionRecord`] to that file when the process exits.

#[cfg(feature = "harness")]
mod harness;
mod record;
mod start;
mod state;

#[cfg(feature = "harness")]
pub use harness::Harness;
pub use leakcheck_format::known;
pub use leakcheck_format::session_record::{SESSION_VERSION, SessionRecord, TestDelta};
pub use record::{is_active, note_leak_test};
pub(crate) use start::on_first_allocation;
pub(crate) use state::workspace_root as start_workspace_root;
