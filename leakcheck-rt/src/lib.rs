//! leakcheck's runtime: a tracking global allocator that records a call
//! stack for every live allocation, and tracemalloc's snapshot API over it.

pub use leakcheck_macros::leak_test;

pub mod report;
pub mod session;

mod filter;
mod leak_test;
mod snapshot;
mod statistic;
mod traceback;

pub use filter::Filter;
pub use snapshot::{SNAPSHOT_VERSION, Snapshot, SnapshotError, Trace};
pub use statistic::{KeyType, Statistic, StatisticDiff};
pub use traceback::{Frame, FrameKind, Traceback};

#[doc(hidden)]
pub mod __private {
    pub use crate::leak_test::{LeakTestConfig, run_leak_test};
    pub use insta;
}
