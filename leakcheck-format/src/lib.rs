//! leakcheck's file formats and report model, shared by the runtime
//! (`leakcheck-rt`, linked into test binaries) and the command
//! (`cargo-leakcheck`, which links no allocator), as `nextest-metadata` is
//! shared by nextest's runner and its users. An internal crate: no
//! stability promise; leakcheck-rt re-exports what its API fixes.
//!
//! Everything here is data and the reading of it: nothing allocates
//! through a tracker, takes a snapshot or runs a test.
//!
//! # Module map
//!
//! Lowest first; a module imports only from the lines above it.
//!
//! | module | what it holds |
//! | --- | --- |
//! | `json/`, `json_error.rs`, `atomic_file.rs` | leakcheck's own JSON reader and writer (no impls on std types); files replaced atomically |
//! | `traceback.rs` | [`Frame`], [`FrameKind`], [`Traceback`]: a call stack as reports name it |
//! | `frame_file.rs` | [`frame_file`], the frames a test process named in one object file, kept for the next process of its binary |
//! | `file_format.rs` | the one loader of the four file formats, their versions and tags, and its error, [`FileError`] |
//! | `statistic.rs`, `filter.rs` | [`Statistic`]s and their diffs by [`KeyType`], [`Filter`] |
//! | `snapshot/` | [`Snapshot`], [`Trace`] and [`TraceTable`], and the snapshot file |
//! | `pprof/` | [`pprof`], pprof heap profiles (`profile.proto`, gzip'd): a [`Snapshot`] written as one ([`Snapshot::dump_pprof`]) and read from one ([`Snapshot::from_pprof`]), Go's and `jemalloc_pprof`'s too |
//! | `report/` | [`report`], the report schema: the run report and the per-test report, written and read |
//! | `session_record.rs` | [`session_record`], what a test binary records as a session |
//! | `known.rs` | [`known`], the never-a-leak rules (std's caches, known registries) |
//! | `caller.rs` | the first workspace frame of a call path |
//! | `verdict.rs` | [`verdict`], the growth verdict over one site's series of checkpoints |
//! | `series_judge.rs` | the verdict over a running service's snapshots: [`check_series`], [`judge_series`], [`SeriesFold`] |
//! | `leak_text.rs` | [`leak_text`], a leak report as text: the failure message and the normalised report a leak snapshot holds |
//! | `accepted_leaks.rs` | [`accepted_leaks`], an accepted leak snapshot compared with a new report site by site |
//! | `protocol/` | [`protocol`], the contract between a test binary and `cargo leakcheck` |

pub mod accepted_leaks;
pub mod atomic_file;
pub mod caller;
pub mod file_format;
pub mod filter;
pub mod frame_file;
pub mod json;
pub mod json_error;
pub mod known;
pub mod leak_text;
pub mod pprof;
pub mod protocol;
pub mod report;
pub mod series_judge;
pub mod session_record;
pub mod snapshot;
pub mod statistic;
pub mod traceback;
pub mod verdict;

pub use file_format::{FileError, FileKind};
pub use filter::Filter;
pub use series_judge::{
    SeriesError, SeriesFold, SeriesJudgement, SeriesSite, check_series, judge_series,
};
pub use snapshot::{
    ProcessMemory, SNAPSHOT_VERSION, Sampling, Snapshot, SnapshotOrigin, Trace, TraceTable,
};
pub use statistic::{KeyType, Statistic, StatisticDiff};
pub use traceback::{Frame, FrameKind, Traceback};
