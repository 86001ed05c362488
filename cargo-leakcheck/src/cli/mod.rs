//! The command line: clap types and parsing.

mod app;
mod diff;
mod parse;
#[cfg(test)]
mod tests;

pub use app::{BuildOpts, Cargo, ColorChoice, Opts, SnapshotMode, Verbosity};
pub use diff::{DiffKey, DiffOpts};
pub use parse::{Parsed, parse};
