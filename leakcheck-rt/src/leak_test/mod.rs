//! `#[leak_test]`: the measured loop, the verdict and the report.

mod config;
mod runner;

pub use config::LeakTestConfig;
pub use runner::run_leak_test;
