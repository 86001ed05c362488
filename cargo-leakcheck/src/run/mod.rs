//! Running the test binaries and judging what they left behind.

pub mod binary;
pub mod interrupt;
pub mod libtest;
pub mod process;
pub mod session;

pub use binary::{RunContext, TestBinary, check_binary};
