//! `#[leak_test]`: the measured loop, the verdict and the report.

mod config;
mod isolate;
mod measure;
mod render;
mod review;
mod runner;
mod schedule;
mod series;
pub(crate) mod verdict;

pub use config::LeakTestConfig;
pub use runner::run_leak_test;
