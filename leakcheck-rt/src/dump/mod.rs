//! Snapshots of a running service: written while it runs ([`dump_every`],
//! [`dump_on_demand`]),
//! judged afterwards as a series
//! ([`judge_series`](crate::judge_series)).

mod after_fork;
mod dumper;
mod every;
mod stale;

pub use dumper::DumpError;
pub use every::{DUMP_NFRAME, DumpGuard, dump_every, dump_on_demand};
