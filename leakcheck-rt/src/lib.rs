//! leakcheck's runtime: a tracking global allocator that records a call
//! stack for every live allocation, and tracemalloc's snapshot API over it.
//!
//! ```no_run
//! use leakcheck_rt::KeyType;
//!
//! leakcheck_rt::install!();
//!
//! fn handle_request(cache: &mut Vec<Vec<u8>>) {
//!     cache.push(vec![0u8; 1024]); // nothing ever evicts
//! }
//!
//! let mut cache = Vec::new();
//! leakcheck_rt::start(25);
//! handle_request(&mut cache); // warm-up: absorb one-time allocations
//! let baseline = leakcheck_rt::take_snapshot();
//! for _ in 0..10_000 {
//!     handle_request(&mut cache);
//! }
//! let after = leakcheck_rt::take_snapshot();
//! for stat in after.compare_to(&baseline, KeyType::Lineno).iter().take(3) {
//!     println!("{stat}"); // +10000.0 KiB  count  10000  src/lib.rs:7
//! }
//! ```
//!
//! # How it works
//!
//! [`TrackingAllocator`] puts an 8-byte header in front of every block.
//! While tracing, each allocation walks the frame-pointer chain (tens of
//! nanoseconds for 25 frames), interns the stack in a lock-free table and
//! writes its id into the header; live bytes and blocks are counted per
//! stack id in tables that only their own thread writes. A snapshot sums
//! the tables and symbolises only the stacks it shows, once per process.
//! `Lineno` and `Filename` statistics charge a block to the innermost frame
//! outside the standard library that has a Rust source file, so
//! `vec![0u8; 1024]` is charged to the line that wrote it (and never to
//! libgcc's or libc's frames, which have none).
//!
//! # Known limitations
//!
//! - Only memory allocated through the global allocator is seen: a C
//!   library calling `malloc` directly is invisible (use valgrind there).
//! - Fast stacks need frame pointers: build with
//!   `RUSTFLAGS="-C force-frame-pointers=yes"` (`cargo leakcheck` does).
//!   Without them, [`start`] warns and falls back to the DWARF unwinder,
//!   which is about a hundred times slower.
//! - In release builds the optimiser may remove allocations a test makes
//!   but never uses; route values through [`std::hint::black_box`].
//! - The peak of [`traced_memory`] is exact to within 64 KiB per thread.
//! - std's symbolisation cache (panics under `RUST_BACKTRACE`, formatted
//!   backtraces) is told apart by std's frame names
//!   ([`session::known::is_std_cache`]); leak tests and `cargo leakcheck`
//!   ignore it, snapshots still show it.

pub use leakcheck_macros::leak_test;

pub mod report;
pub mod session;

mod alloc;
mod atomic_file;
mod capture;
mod filter;
mod json_error;
mod leak_test;
mod snapshot;
mod statistic;
mod symbolize;
mod traceback;

pub use alloc::{
    TrackingAllocator, clear_traces, is_tracing, object_traceback, reset_peak, start, stop,
    traceback_limit, traced_memory, tracker_memory, untracked,
};
pub use capture::take_snapshot;
pub use filter::Filter;
pub use snapshot::{SNAPSHOT_VERSION, Snapshot, SnapshotError, Trace};
pub use statistic::{KeyType, Statistic, StatisticDiff};
pub use traceback::{Frame, FrameKind, Traceback};

/// Declares leakcheck's [`TrackingAllocator`] over the system allocator as
/// the `#[global_allocator]`. Use it once per test binary (at the top of an
/// integration test file, or in the crate root under `#[cfg(test)]`).
#[macro_export]
macro_rules! install {
    () => {
        #[global_allocator]
        static LEAKCHECK_GLOBAL_ALLOCATOR: $crate::TrackingAllocator<::std::alloc::System> =
            $crate::TrackingAllocator::new(::std::alloc::System);
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::leak_test::{LeakTestConfig, run_leak_test};
    pub use insta;
}
