//! Running the test binaries and judging what they left behind.

pub mod binary;
pub mod interrupt;
pub mod output;
pub mod pool;
pub mod process;
pub mod session;

pub use binary::{RunContext, SessionRun, TestBinary, run_leak_test, run_session};
