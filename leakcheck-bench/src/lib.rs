//! The benchmark behind leakcheck's performance figures.
//!
//! A global allocator is fixed per binary, so the same workloads are built
//! into three binaries: `bench-system` (the System allocator),
//! `bench-leakcheck` (leakcheck tracking with 25-frame stacks; sampled
//! at the default rate when `LEAKCHECK_BENCH_SAMPLED=1`) and
//! `bench-dhat` (dhat-rs with its documented `Alloc` + `Profiler` setup).
//! `bench-large-system` and `bench-large-leakcheck` also link tokio, serde
//! and regex, for the fixed cost per process in a large binary. The
//! `compare` bench builds the System and leakcheck binaries once more as
//! `cargo leakcheck` builds tests (test profile, leakcheck-rt optimised),
//! and `bench-leakcheck` as `cargo leakcheck --native` builds it
//! (`LEAKCHECK_NATIVE=1`), runs them all interleaved, one process per
//! measurement, `bench-system` also under heaptrack when it is installed
//! and with `cargo leakcheck run`'s preloaded library (`leakcheck-preload`,
//! built as that command builds it; exact, and sampled as `run --sample`
//! samples), and prints medians and ratios:
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
pub mod heaptrack;
pub mod preloaded;
pub mod probe;
pub mod stacks;
pub mod tracing;
pub mod workloads;
