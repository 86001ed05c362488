//! The contract between a test binary and `cargo leakcheck`, written once
//! for both sides: the `LEAKCHECK_*` variables and the modes they carry
//! ([`env`](mod@env)), running one leak test alone and reading back its report
//! ([`alone`]), reading libtest's (and libtest-mimic's) output
//! ([`libtest`]), the runtime's messages a runner reads back
//! ([`messages`]), and what `cargo leakcheck run` tells the library it
//! preloads into a program ([`run`]).
//!
//! ```text
//!  cargo leakcheck ──LEAKCHECK_SESSION=<file>──► test binary (whole) ──► session record
//!  cargo leakcheck ──LEAKCHECK_MODE=measure, LEAKCHECK_REPORT=<file>──► one leak test ──► per-test report
//!  #[leak_test] under libtest ──LEAKCHECK_MODE=child, LEAKCHECK_REPORT=<file>──► one leak test ──► per-test report
//! ```
//!
//! A change to what crosses the boundary goes here; both crates follow.
//! Not meant for tests to use: the items may change with leakcheck.

pub mod alone;
pub mod env;
pub mod libtest;
pub mod messages;
pub mod run;
