//! The benchmark behind leakcheck's performance figures.
//!
//! A global allocator is fixed per binary, so the same workloads are built
//! into three binaries: `bench-system` (the System allocator),
//! `bench-leakcheck` (leakcheck tracking with 25-frame stacks) and
//! `bench-dhat` (dhat-rs with its documented `Alloc` + `Profiler` setup).
//! The `compare` bench runs them interleaved, one process per measurement,
//! and prints medians and ratios:
//!
//! ```text
//! cargo bench -p leakcheck-bench
//! ```
//!
//! Each child binary takes one measure name on its command line, runs it,
//! and prints `key value` lines on stdout that the driver reads back.

pub mod child;
pub mod driver;
pub mod fixed;
pub mod probe;
pub mod stacks;
pub mod tracing;
pub mod workloads;
