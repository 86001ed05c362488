//! `cargo leakcheck merge`: the command line of joining the shards'
//! reports.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

use super::{ColorChoice, NoTests, Verbosity};

/// Join the --json reports of shards into one report with one exit code
#[derive(Debug, Parser)]
#[command(
    name = "merge",
    bin_name = "cargo leakcheck merge",
    display_name = "cargo-leakcheck",
    version
)]
#[command(long_about = LONG_ABOUT, after_long_help = AFTER_LONG_HELP)]
pub struct MergeOpts {
    /// The shards' reports (`cargo leakcheck --partition ... --json PATH`)
    #[arg(value_name = "REPORT", required = true)]
    pub files: Vec<PathBuf>,

    /// Also write the merged machine report (JSON, version 1) to PATH
    /// (`-` for stdout)
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub json: Option<PathBuf>,
    /// Also write a JUnit XML report of the whole run to PATH
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub junit: Option<PathBuf>,
    /// Also write a self-contained HTML report of the whole run to PATH
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub html: Option<PathBuf>,
    /// What merged shards that checked nothing are (no test ran, no
    /// binary was measured) [default: fail]
    #[arg(long, value_enum, value_name = "ACTION")]
    pub no_tests: Option<NoTests>,
    /// Coloring [default: CARGO_TERM_COLOR, else auto]
    #[arg(long, value_enum, value_name = "WHEN", help_heading = "Output")]
    pub color: Option<ColorChoice>,
    /// Print only problems and the summary
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Output")]
    pub quiet: bool,
    /// Print more: every site
    #[arg(short, long, action = ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
}

impl MergeOpts {
    /// The verbosity from `-q`/`-v`.
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            _ => Verbosity::Verbose,
        }
    }
}

const LONG_ABOUT: &str = "\
Join the --json reports of shards into one report with one exit code.

Each shard of a CI matrix runs `cargo leakcheck --partition count:K/N --json
shard-K.json`; a last job runs `cargo leakcheck merge shard-*.json`, which
prints the human report of the whole suite, writes the merged --json, --junit
and --html reports, and exits as the unsharded run would have. A shard holds
whole test binaries, so the merged report is the unsharded run's.";

const AFTER_LONG_HELP: &str = "\
Examples:
  cargo leakcheck merge shard-1.json shard-2.json shard-3.json
  cargo leakcheck merge shard-*.json --json leakcheck.json --junit junit.xml

Exit codes: those of `cargo leakcheck` (`cargo leakcheck --help`): 0, 1, 4
or 5 from the merged findings; 2 for a report that is missing, unreadable,
not written by `cargo leakcheck --json`, that repeats a binary or a shard of
another, or for shards that are not all N of one --partition.";
