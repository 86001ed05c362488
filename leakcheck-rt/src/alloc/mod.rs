//! The tracking allocator: the one place of this crate with `unsafe` code.
//!
//! ```text
//!  alloc ──► inner allocator ──► header { epoch, stack id } ──► user block
//!              │
//!              └─ stack::capture (frame pointers) ─► recent ─► intern ─► per-thread counters
//! ```
//!
//! Each block carries an 8-byte header (more for over-aligned layouts) with
//! the id of its interned call stack, the tracing epoch it was counted in,
//! and whether it is one of the tracker's own blocks, which come from
//! `System` and never from the inner allocator. Live bytes and blocks are counted per stack id in per-thread tables
//! that only their thread writes; a snapshot sums the tables. Nothing on the
//! hot path takes a lock or allocates through the global allocator.

mod account;
mod control;
mod counters;
mod fork;
mod guard;
mod header;
mod intern;
mod object;
mod process;
mod raw;
mod recent;
mod replay;
mod stack;
mod tracking;

pub use control::UNWINDER_NOTICE;
pub use control::{
    clear_traces, is_tracing, reset_peak, start, stop, traceback_limit, traced_memory,
    tracker_memory,
};
pub use guard::untracked;
pub use tracking::{TrackingAllocator, object_traceback};

pub(crate) use control::{RawTrace, collect, epoch, start_owned};
pub(crate) use fork::at_fork;
pub(crate) use guard::{Guard, as_tracker};
#[cfg(test)]
pub(crate) use intern::intern;
pub(crate) use intern::{CAPACITY as STACK_CAPACITY, OVERFLOW_ID, overflowed, stack_frames};
pub(crate) use object::{LoadedObject, loaded_objects, map_file, release_file_pages, system_frame};
pub(crate) use process::{EnvValue, at_exit, env_value};
