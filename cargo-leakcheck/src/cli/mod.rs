//! The command line: clap types and parsing.

mod app;
mod diff;
mod launch;
mod merge;
mod parse;
#[cfg(test)]
mod tests;

pub use app::{Cargo, ColorChoice, NoTests, Opts, SnapshotMode, Verbosity};
pub use diff::{DiffKey, DiffOpts};
pub use launch::LaunchOpts;
pub use merge::MergeOpts;
pub use parse::{Parsed, parse};
