//! leakcheck's runtime: a tracking global allocator that records a call
//! stack for every live allocation, and tracemalloc's snapshot API over it.
//!
//! # Leak tests
//!
//! A service is built once and handles request after request; a leak test
//! builds the state, then hands [`LeakLoop::iter`] the call to repeat:
//!
//! ```no_run
//! # struct Service(Vec<Vec<u8>>);
//! # impl Service {
//! #     fn new() -> Self { Service(Vec::new()) }
//! #     fn handle_request(&mut self, _: u64) { self.0.push(vec![0; 8]); }
//! # }
//! leakcheck_rt::install!();
//!
//! #[leakcheck_rt::leak_test(iters = 5_000)]
//! fn handle_request_does_not_leak(lt: &mut leakcheck_rt::LeakLoop) {
//!     let mut svc = Service::new(); // built once: part of the baseline
//!     lt.iter(|i| svc.handle_request(i)); // i = 0, 1, 2, … (warm-up included)
//! }
//! # fn main() {}
//! ```
//!
//! With the `tokio` feature, a leak test can be an `async fn`, run on a
//! runtime built once (`flavor = "multi_thread"` and `worker_threads` as in
//! `#[tokio::test]`); the stateful form calls
//! `lt.iter_async(async |i| pool.query(i).await).await`, and a body with no
//! parameter is awaited once per call:
//!
//! ```ignore
//! #[leakcheck_rt::leak_test(iters = 2_000)]
//! async fn handler_does_not_leak() {
//!     handle(7).await;
//! }
//! ```
//!
//! Before each snapshot, tasks the body spawned get up to 250 ms to finish
//! (less once their number stops changing for 20 ms); what they still hold
//! then is retained memory, on whichever thread it was allocated. See
//! [`leak_test`] for the arguments and [`LeakLoop`] for the rules.
//!
//! # Snapshots
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
//! # Module map
//!
//! | module | what it holds |
//! | --- | --- |
//! | `tracking.rs` | [`TrackingAllocator`], the `GlobalAlloc` front end of the `leakcheck-engine` crate (the block header, stack capture, interning, per-thread counters, the tracemalloc-style controls re-exported here, and all of leakcheck's `unsafe` code), with the session's hook; [`object_traceback`] |
//! | `frame_cache.rs` | the frames named in earlier processes of this binary, read from and written to the directory `cargo leakcheck` gives (`LEAKCHECK_FRAME_CACHE`) |
//! | `symbolize.rs`, `debuginfo/` | return addresses to [`Frame`]s, from the compile unit of each address (`debuginfo/`: `.debug_aranges`, then that unit's functions, inlined calls and line table), else through `backtrace` |
//! | `take.rs` | [`take_snapshot`]: the counters summed, then symbolised |
//! | `sampled.rs` | [`start_sampled`] and [`SampleRate`]: sampled tracking for services in production; the process's resident memory and the C allocator's count, recorded in every snapshot |
//! | `leak_test/` | `#[leak_test]`'s runner: where to measure (`runner.rs`, `isolate.rs`), the measured loop (`measure.rs`, `leak_loop.rs`, `schedule.rs`, `series.rs`; `async_rt.rs` and `driver.rs` for `async fn`), the leak snapshot (`leak_snapshot.rs`, `pending_snapshot.rs`) |
//! | `session/` | [`session`], a whole test binary run once under `cargo leakcheck`: what it took from the environment (`state.rs`), the start (`start.rs`), the record (`record.rs`), the harness |
//! | `retain.rs` | what retains a leaking site's blocks: the engine's scan from the roots, read as a path from a static, thread-local, stack or task, a cycle, or nothing (a leaking test run once more, `LEAKCHECK_RETAIN=1`) |
//! | `dump/` | [`dump_every`]: the guard (`every.rs`), the dumping thread (`dumper.rs`), across `fork` (`after_fork.rs`), stale temporaries (`stale.rs`) |
//! | `report.rs` | [`report`], the report schema, re-exported with the verdict's reading of a series |
//!
//! The formats and models these share with `cargo leakcheck` are the
//! `leakcheck-format` crate's, re-exported here: [`Snapshot`],
//! [`Statistic`], [`Filter`], [`Traceback`], [`FileError`], the series
//! verdict ([`judge_series`]), [`accepted_leaks`], [`protocol`],
//! [`session::known`], and the report model. Nothing here depends back on
//! this crate.
//!
//! # Cargo features
//!
//! A test binary links every crate of leakcheck-rt's dependency graph, and
//! each trait impl in them is visible to the user's code. None of them adds
//! impls of std traits on std types that would change type inference (an
//! `impl PartialEq<X> for u8` makes `assert_eq!(bytes[0], 1.into())`
//! ambiguous): leakcheck's files are written and read by its own JSON code,
//! not serde_json. What only some binaries use is behind a feature:
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `insta` | on | `#[leak_test]` checks a leak report against an insta snapshot, so a known leak is accepted with `cargo insta review`. Without it, `#[leak_test]` needs `snapshot = false` (the default `snapshot = true` is a compile error that names the feature). |
//! | `harness` | off | `session::Harness`, the `harness = false` runner with exact per-test session snapshots, on libtest-mimic. libtest-mimic brings clap, whose `PartialEq<clap::builder::Str> for str` (and for `String` and `OsStr`) every test binary of the package then sees: comparisons with `str` and `String` are already ambiguous in std, but it is why the feature is off by default. |
//!
//! ```toml
//! [dev-dependencies]
//! leakcheck-rt = { path = "../leakcheck/leakcheck-rt", default-features = false }   # the allocator and snapshots only
//! leakcheck-rt = { path = "../leakcheck/leakcheck-rt", features = ["harness"] }      # and session::Harness
//! ```
//!
//! # Known limitations
//!
//! - Only memory allocated through the global allocator is seen: a C
//!   library calling `malloc` directly is invisible (use valgrind there).
//! - Fast stacks need frame pointers: build with
//!   `RUSTFLAGS="-C force-frame-pointers=yes"` (`cargo leakcheck` does).
//!   Without them, [`start`] (or a session's first allocation) warns and
//!   falls back to the DWARF unwinder, which is about a hundred times slower.
//! - A wrapped allocator (`TrackingAllocator::new(MyAlloc)`) gets the
//!   caller's alignment, but each block 8 bytes larger (larger by the
//!   alignment, above 8); the tracker's own memory comes from `System`.
//! - In release builds the optimiser may remove allocations a test makes
//!   but never uses; route values through [`std::hint::black_box`].
//! - The peak of [`traced_memory`] is exact to within 64 KiB per thread.
//! - A process interns at most 262,142 distinct call stacks; blocks from
//!   newer stacks are counted under the pseudo-site
//!   `<leakcheck: stack table full>`, and snapshots warn about it once on
//!   stderr.
//! - std's symbolisation cache (panics under `RUST_BACKTRACE`, formatted
//!   backtraces) is told apart by std's frame names
//!   ([`session::known::is_std_cache`]); leak tests and `cargo leakcheck`
//!   ignore it, snapshots still show it.
//! - In an `async fn` leak test, a spawned task still busy when the wait
//!   before a snapshot ends (a long timer, slow work) counts as retained,
//!   like a task that never finishes; a task on a `multi_thread` worker has
//!   no frame of the test on its stack. Only tokio is supported.

// `unsafe` lives in leakcheck-engine (the allocator, its headers, raw
// memory, the C library calls it needs), except the declaration of the
// public `unsafe fn object_traceback`; the compiler holds this crate to it.
#![deny(unsafe_code)]

pub use leakcheck_macros::leak_test;

pub mod report;
pub mod session;

mod debuginfo;
mod dump;
mod frame_cache;
mod leak_test;
mod retain;
mod sampled;
mod symbolize;
mod take;
mod tracking;

pub use dump::{DUMP_NFRAME, DumpError, DumpGuard, dump_every, dump_on_demand};
pub use leak_test::LeakLoop;
pub use leakcheck_engine::{
    clear_traces, is_tracing, reset_peak, start, stop, traceback_limit, traced_memory,
    tracker_memory, untracked,
};
pub use leakcheck_format::{
    FileError, FileKind, Filter, Frame, FrameKind, KeyType, ProcessMemory, SNAPSHOT_VERSION,
    Sampling, SeriesError, SeriesFold, SeriesJudgement, SeriesSite, Snapshot, SnapshotOrigin,
    Statistic, StatisticDiff, Trace, TraceTable, Traceback, check_series, judge_series,
};
pub use leakcheck_format::{accepted_leaks, protocol};
pub use sampled::{SampleRate, sample_rate, start_sampled};
pub use take::take_snapshot;
pub use tracking::{TrackingAllocator, object_traceback};

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
    pub use crate::__leakcheck_check_snapshot as check_snapshot;
    #[cfg(feature = "tokio")]
    pub use crate::leak_test::{Flavor, LoopFuture, RuntimeConfig, run_async_leak_loop};
    pub use crate::leak_test::{LeakTestConfig, run_leak_loop, run_leak_test};
    #[cfg(feature = "insta")]
    pub use insta;

    /// Snapshots leave out what C and C++ code allocated with `malloc`
    /// (`cargo leakcheck run` without `--native`, where the preloaded
    /// library counts every `malloc` of the program).
    pub fn only_rust_allocations() {
        crate::symbolize::only_rust_allocations();
    }

    /// What `#[leak_test]` expands an `async fn` into: a call of the async
    /// runner, which exists with the `tokio` feature only.
    #[cfg(feature = "tokio")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __leakcheck_async_leak_test {
        ($($args:tt)*) => {
            $crate::__private::run_async_leak_loop($($args)*)
        };
    }

    /// Without the `tokio` feature the test does nothing;
    /// [`requires_tokio!`](crate::__private::requires_tokio) beside it is
    /// the error.
    #[cfg(not(feature = "tokio"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __leakcheck_async_leak_test {
        ($($args:tt)*) => {};
    }

    /// Written beside every `async fn` leak test, outside the `#[test]`
    /// function (which is compiled out of non-test builds): nothing with
    /// the `tokio` feature, an error that names it without.
    #[cfg(feature = "tokio")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __leakcheck_requires_tokio {
        () => {};
    }

    #[cfg(not(feature = "tokio"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __leakcheck_requires_tokio {
        () => {
            ::core::compile_error!(
                "an `async fn` leak test needs leakcheck-rt's `tokio` feature: add \
                 `features = [\"tokio\"]` to the leakcheck-rt line in [dev-dependencies]"
            );
        };
    }
    pub use crate::__leakcheck_async_leak_test as async_leak_test;
    pub use crate::__leakcheck_requires_tokio as requires_tokio;
}

/// Asserts a leak report as the insta snapshot `name`, in the test crate's
/// context (insta names the file after the calling module). A proc macro
/// cannot see this crate's features, so `#[leak_test]` calls this and the
/// feature decides what it expands to (the planned `tokio` feature for
/// async leak tests can name itself in its compile error the same way).
#[cfg(feature = "insta")]
#[doc(hidden)]
#[macro_export]
macro_rules! __leakcheck_check_snapshot {
    ($name:expr, $report:expr) => {
        $crate::__private::insta::assert_snapshot!($name, $report)
    };
}

#[cfg(not(feature = "insta"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __leakcheck_check_snapshot {
    ($name:expr, $report:expr) => {
        ::core::compile_error!(
            "`#[leak_test]` checks leak reports against insta snapshots, which needs \
             leakcheck-rt's `insta` feature (on by default): enable it, or write \
             `#[leak_test(snapshot = false)]`"
        )
    };
}
