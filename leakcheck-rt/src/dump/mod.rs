//! Snapshots of a running service: written while it runs ([`dump_every`]),
//! judged afterwards as a series ([`judge_series`]).

mod after_fork;
mod every;
mod judge;
mod stale;

pub use every::{DUMP_NFRAME, DumpError, DumpGuard, dump_every};
pub use judge::{SeriesError, SeriesFold, SeriesJudgement, SeriesSite, check_series, judge_series};
