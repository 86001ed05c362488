//! `#[leak_test]`: the measured loop, the verdict and the report.

#[cfg(feature = "tokio")]
mod async_rt;
pub(crate) mod caller;
mod config;
mod isolate;
mod leak_loop;
mod leak_snapshot;
mod measure;
#[cfg(feature = "insta")]
mod pending_snapshot;
mod render;
mod runner;
mod schedule;
mod series;
pub(crate) mod verdict;

#[cfg(feature = "tokio")]
pub use async_rt::{Flavor, LoopFuture, RuntimeConfig, run_async_leak_loop};
pub use config::LeakTestConfig;
pub use leak_loop::LeakLoop;
pub(crate) use render::normalised;
pub use runner::{run_leak_loop, run_leak_test};
