//! `#[leak_test]`: the measured loop, the verdict and the report.

mod config;
mod runner;
// Not wired into the runner yet.
#[cfg_attr(not(test), allow(dead_code))]
mod schedule;
#[cfg_attr(not(test), allow(dead_code))]
mod series;
#[cfg_attr(not(test), allow(dead_code))]
mod verdict;

pub use config::LeakTestConfig;
pub use runner::run_leak_test;
