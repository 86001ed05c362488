//! `#[leak_test]`: the measured loop, the verdict and the report.

mod config;

pub use config::LeakTestConfig;
