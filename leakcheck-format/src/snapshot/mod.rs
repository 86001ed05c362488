//! Snapshots of live allocations, their statistics and diffs, and their
//! file format; leakcheck-rt takes them.

mod file;
mod model;
mod table;

pub use crate::file_format::SNAPSHOT_VERSION;
pub use file::{FileBuilder, FileSnapshot};
pub use model::{ProcessMemory, Sampling, Snapshot, SnapshotOrigin, Trace};
pub use table::TraceTable;
