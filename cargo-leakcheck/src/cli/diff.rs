//! `cargo leakcheck diff`: the command line of comparing dumped snapshots.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};

use super::{ColorChoice, Verbosity};

/// Compare snapshots dumped by a running service
#[derive(Debug, Parser)]
#[command(
    name = "diff",
    bin_name = "cargo leakcheck diff",
    display_name = "cargo-leakcheck",
    version
)]
#[command(long_about = LONG_ABOUT, after_long_help = AFTER_LONG_HELP)]
pub struct DiffOpts {
    /// Snapshot files (from `leakcheck_rt::dump_every` or `Snapshot::dump`)
    /// or pprof heap profiles (Go's, jemalloc_pprof's, `dump_pprof`'s),
    /// oldest first, or a directory of `dump_every`'s files or of profiles
    #[arg(value_name = "SNAPSHOT", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,

    /// Group by line, by file, or by whole call path (two snapshots)
    #[arg(long, value_enum, default_value = "lineno", help_heading = "Comparing")]
    pub key: DiffKey,
    /// Keep only traces whose shown file matches PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN", help_heading = "Comparing")]
    pub include: Vec<String>,
    /// Drop traces whose shown file matches PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN", help_heading = "Comparing")]
    pub exclude: Vec<String>,
    /// Match the filters against every frame of a call path, not only the
    /// charged one
    #[arg(long, help_heading = "Comparing")]
    pub all_frames: bool,
    /// Lines shown for two snapshots (0 for all)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        help_heading = "Comparing"
    )]
    pub limit: usize,
    /// A site that retained less than this many bytes since the first
    /// snapshot did not grow (three or more snapshots)
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 256,
        help_heading = "Comparing"
    )]
    pub min_growth_bytes: u64,

    /// Also write the machine report (JSON, version 1) to PATH (`-` for stdout)
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub json: Option<PathBuf>,
    /// Also write a self-contained HTML report to PATH, with a plot of each
    /// site's retained bytes over the series (three or more snapshots)
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub html: Option<PathBuf>,
    /// Also write the growth between the first snapshot and the last as a
    /// pprof heap profile (gzip'd) to PATH, for `go tool pprof` and the
    /// like: each call path's added bytes and blocks
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub pprof: Option<PathBuf>,
    /// Coloring [default: CARGO_TERM_COLOR, else auto]
    #[arg(long, value_enum, value_name = "WHEN", help_heading = "Output")]
    pub color: Option<ColorChoice>,
    /// Print only the leaks and the summary
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Output")]
    pub quiet: bool,
    /// Print every site that grew, with its call path
    #[arg(short, long, action = ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
}

/// How `cargo leakcheck diff` groups two snapshots (tracemalloc's
/// `key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffKey {
    /// By the file and line of the charged frame
    Lineno,
    /// By the file of the charged frame
    Filename,
    /// By the whole call path
    Traceback,
}

impl DiffOpts {
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
Compare snapshots dumped by a running service.

With two snapshots, prints what changed between them, biggest change first,
as tracemalloc's compare_to does. With three or more (of one process, in the
order they were taken), judges every allocation site's growth over the
series by the time each snapshot was taken: a site whose retained memory
keeps growing through the last half of the series is a leak; one that rose
and then stayed is a plateau, as is one that rose at one snapshot only (a
leak grows at two at least); one that rose and fell is not a leak.

Three or more snapshots of several processes (a service restarted into the
same directory: its runs' files are numbered on) are grouped by process,
and the run that started last is judged; a note says which.

pprof heap profiles (Go's, jemalloc_pprof's, Snapshot::dump_pprof's; gzip'd
or not) are read alike, by their inuse_space (and inuse_objects): a
profile is told by its content, or by its name (.pb.gz, .pb, .pprof). A
profile names no process: the profiles given are one run, in the order
given (a directory's in the order of the numbers in their names), timed by
the time each was taken (time_nanos).";

const AFTER_LONG_HELP: &str = "\
Examples:
  cargo leakcheck diff leakcheck-snapshots/snapshot-000001.json leakcheck-snapshots/snapshot-000002.json
  cargo leakcheck diff --key traceback old.json new.json
  cargo leakcheck diff leakcheck-snapshots/*.json --json report.json
  cargo leakcheck diff leakcheck-snapshots
  cargo leakcheck diff leakcheck-snapshots/*.json --html growth.html
  cargo leakcheck diff heap-1.pb.gz heap-2.pb.gz heap-3.pb.gz --pprof growth.pb.gz

Exit codes:
  0  nothing leaks (or two snapshots were compared: no verdict)
  1  a site leaks over the series
  2  bad command line, a --json, --html or --pprof path that cannot be
     written, or a snapshot or profile that is missing, truncated, corrupt
     (or a profile without inuse_space),
     of another process (two snapshots), version or frame depth, or out of
     order, or a last run with only one snapshot

A test filter that is literally `diff` goes through as
`cargo leakcheck --filter diff`.";
