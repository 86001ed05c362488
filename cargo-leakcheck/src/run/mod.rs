//! Running the test binaries and judging what they left behind. The
//! handshake with a test binary (its variables, running a leak test alone,
//! reading libtest's output) is `leakcheck_format::protocol`, shared with the
//! runtime.

pub mod binary;
pub mod capture;
pub mod doubt;
pub mod interrupt;
pub mod libtest;
pub mod parent_death;
pub mod pool;
pub mod process;
pub mod session;

pub use binary::{Listing, RunContext, SessionRun, TestBinary, list, run_leak_test, run_session};
