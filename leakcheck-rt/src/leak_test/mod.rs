//! `#[leak_test]`: the measured loop, the verdict and the report.

#[cfg(feature = "tokio")]
mod async_rt;
mod config;
#[cfg(feature = "tokio")]
mod driver;
mod isolate;
mod leak_loop;
mod leak_snapshot;
mod measure;
#[cfg(feature = "insta")]
mod pending_snapshot;
mod runner;
mod schedule;
mod series;

#[cfg(feature = "tokio")]
pub use async_rt::{Flavor, RuntimeConfig, run_async_leak_loop};
pub use config::LeakTestConfig;
#[cfg(feature = "tokio")]
pub use driver::LoopFuture;
pub use leak_loop::LeakLoop;
pub use runner::{run_leak_loop, run_leak_test};
