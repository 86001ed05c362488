//! The command line, as clap derive types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, ValueEnum};

/// Cargo runs `cargo-leakcheck leakcheck ARGS...` for `cargo leakcheck
/// ARGS...`, so the command line is parsed as cargo's with one subcommand.
#[derive(Debug, Parser)]
#[command(bin_name = "cargo")]
pub enum Cargo {
    /// Find memory leaks in a crate's test suite
    #[command(name = "leakcheck", display_name = "cargo-leakcheck", version)]
    #[command(long_about = LONG_ABOUT, after_long_help = AFTER_LONG_HELP)]
    #[command(after_help = "Run `cargo leakcheck --help` for how it works and the exit codes.")]
    Leakcheck(Box<Opts>),
}

const LONG_ABOUT: &str = "\
Find memory leaks in a crate's test suite.

Builds the test targets with frame pointers (in target/leakcheck, so your
normal build cache stays as it is), then for every test binary:

  * runs each #[leakcheck_rt::leak_test] alone in its own process, and reports
    the allocation sites whose retained memory grows with the iteration count;
  * runs all its tests once more as a session (one at a time when any test
    left memory behind), and reports the sites where memory piles up with
    the number of tests (session growth).

Every test binary of the selected packages takes part: leakcheck's
allocator is linked into the ones whose crate does not depend on
leakcheck-rt (nothing in your tree is changed), and a crate that does
installs it with `leakcheck_rt::install!()`. A binary with a
#[global_allocator] of its own runs untracked, listed with that line;
--no-inject checks only the binaries that install leakcheck themselves.
--native tracks the allocations of C and C++ code too (Linux, glibc).";

const AFTER_LONG_HELP: &str = "\
Examples:
  cargo leakcheck                       check every test target of the package
  cargo leakcheck --workspace --json leakcheck.json
  cargo leakcheck --json - --junit junit.xml --html leakcheck.html
  cargo leakcheck -p server --test api  one package, one integration test
  cargo leakcheck handle_request        only tests whose name contains this
  cargo leakcheck --review              re-run, then accept or reject leak snapshots
  cargo leakcheck --partition count:1/2 --json shard1.json
  cargo leakcheck merge shard1.json shard2.json --junit junit.xml
                                        one report, one exit code for the shards
  cargo leakcheck diff OLD.json NEW.json [MORE.json ...]
                                        compare snapshots dumped by a running
                                        service (`cargo leakcheck diff --help`)
  cargo leakcheck run -- ./target/release/my-service --port 8080
                                        start a program unchanged with tracking
                                        on, dumping snapshots for `diff`

Leak snapshots: a leak test that leaks is compared with its insta snapshot.
A leak that matches its accepted snapshot is reported as accepted and does
not fail the run; a new or grown one does. --check (the default, and what
CI wants) never writes snapshots, --accept accepts every leak as it is now,
--review writes .snap.new files and lets you accept or reject each one.

Session growth: a site listed in .config/leakcheck-accepted.toml (written by
--accept; keep it in the repository and review its diff) is reported as
accepted and does not fail the run. std's backtrace cache (panics under
RUST_BACKTRACE) and insta's registries are never growth.

Exit codes:
  0  nothing grew, and every test passed
  1  a new or grown leak, session growth, or a failing test
  2  bad command line, a missing or unreadable manifest, a --json, --junit
     or --html path that cannot be written (or two of them on one file),
     --review without a terminal,
     an unknown -p or --test, or a broken .config/leakcheck.toml,
     CARGO_LEAKCHECK_* value or .config/leakcheck-accepted.toml
  3  the test targets did not build
  4  a test binary crashed, was killed by a signal, timed out, or wrote no
     readable results (the others are still reported)
  5  the run checked nothing: no test to run (a TESTNAME that matches
     none), no test binary, or none that leakcheck measured; unless
     --no-tests=pass or --no-tests=warn
  129, 130, 131, 143  interrupted by SIGHUP, SIGINT, SIGQUIT or SIGTERM:
     the test processes were killed with everything they started, and no
     report was written
When several apply, the order is 129/130/131/143, 2, 3, 4, 5, 1, 0.

Configuration: .config/leakcheck.toml at the workspace root sets timeout,
session-min-tests and jobs for the workspace, and [[override]] time limits
for some binaries or tests; CARGO_LEAKCHECK_TIMEOUT,
CARGO_LEAKCHECK_SESSION_MIN_TESTS and CARGO_LEAKCHECK_JOBS override the file,
and the command line overrides both.

Under GitHub Actions (GITHUB_ACTIONS=true) new leaks and session growth are
also printed as `::error file=...,line=...` annotations (on stdout, or on
stderr with `--json -`), pointing at the repository's own line (the innermost
frame of the workspace, relative to GITHUB_WORKSPACE), the worst ten first;
and a markdown summary is appended to $GITHUB_STEP_SUMMARY.";

/// The options of `cargo leakcheck`.
#[derive(Debug, Args)]
pub struct Opts {
    /// Run only the tests whose name contains TESTNAME
    #[arg(value_name = "TESTNAME")]
    pub filter: Option<String>,

    /// The same as TESTNAME, for a name that is a subcommand (`--filter diff`)
    #[arg(long = "filter", value_name = "TESTNAME", conflicts_with = "filter")]
    pub filter_flag: Option<String>,

    /// Arguments for the test binaries, e.g. `-- --include-ignored`
    #[arg(last = true, value_name = "ARGS")]
    pub test_args: Vec<String>,

    #[command(flatten)]
    pub selection: Selection,

    #[command(flatten)]
    pub build: BuildOpts,

    #[command(flatten)]
    pub run: RunOpts,

    #[command(flatten)]
    pub snapshots: SnapshotOpts,

    #[command(flatten)]
    pub output: OutputOpts,
}

/// Which packages and targets to check; forwarded to cargo.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Package selection")]
pub struct Selection {
    /// Package to check (repeatable)
    #[arg(short, long, value_name = "SPEC")]
    pub package: Vec<String>,
    /// Check all packages in the workspace
    #[arg(long)]
    pub workspace: bool,
    /// Exclude packages from the check (with --workspace)
    #[arg(long, value_name = "SPEC", requires = "workspace")]
    pub exclude: Vec<String>,
    /// Check only the library's unit tests
    #[arg(long)]
    pub lib: bool,
    /// Check only this integration test target (repeatable)
    #[arg(long, value_name = "NAME")]
    pub test: Vec<String>,
    /// Check all test targets
    #[arg(long)]
    pub tests: bool,
}

/// How to build; forwarded to cargo.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Build")]
pub struct BuildOpts {
    /// Features to activate, space or comma separated (repeatable)
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all available features
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    pub no_default_features: bool,
    /// Build in release mode (line tables are kept for the report)
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with this profile
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Build for this target triple
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Directory for all generated artifacts (leakcheck builds in its
    /// `leakcheck` subdirectory)
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Assert that Cargo.lock will remain unchanged
    #[arg(long)]
    pub locked: bool,
    /// Run without accessing the network
    #[arg(long)]
    pub offline: bool,
    /// Equivalent to --locked and --offline
    #[arg(long)]
    pub frozen: bool,
    /// Check only the test binaries that install leakcheck themselves
    /// (`leakcheck_rt::install!()`); without it, leakcheck's allocator is
    /// linked into every test binary of the selected packages
    #[arg(long)]
    pub no_inject: bool,
    /// Track the allocations of C and C++ code too (`malloc` and its
    /// family, in static libraries built by build scripts and in shared
    /// libraries the tests load); Linux with glibc
    #[arg(long)]
    pub native: bool,
}

/// How the test binaries are run and judged. Unset values come from the
/// environment, then `.config/leakcheck.toml`, then the defaults (see
/// `Settings`).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Running")]
pub struct RunOpts {
    /// Kill a test process, and every process it started, when it runs
    /// longer than this (seconds, or with an s/m/h suffix; 0 for no limit)
    /// [default: 300s]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Timeout>,
    /// A session site is growth when at least this many tests each left
    /// memory there; fewer is a one-time cost [default: 3]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub session_min_tests: Option<u32>,
    /// Test processes to run at once [default: the number of CPUs]
    #[arg(short, long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Check only this shard's test binaries: `count:K/N` (every Nth
    /// binary, by name) or `hash:K/N` (by a hash of the name); merge the
    /// shards' --json reports with `cargo leakcheck merge`
    #[arg(long, value_name = "SCHEME:K/N")]
    pub partition: Option<crate::partition::Partition>,
    /// What a run that checked nothing is: no test to run (a TESTNAME that
    /// matches none), no test binary, or none measured by leakcheck
    /// [default: fail]
    #[arg(long, value_enum, value_name = "ACTION")]
    pub no_tests: Option<NoTests>,
}

/// What a run that checked nothing is (nextest's `--no-tests`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum NoTests {
    /// Not a failure, and nothing said
    Pass,
    /// Not a failure, with a warning
    Warn,
    /// A failure: exit code 5
    #[default]
    Fail,
}

/// What to do with leak snapshots.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Leak snapshots")]
#[group(multiple = false)]
pub struct SnapshotOpts {
    /// Compare leaks with their accepted snapshots, write nothing (default)
    #[arg(long)]
    pub check: bool,
    /// Write new leak snapshots as .snap.new, then review them one by one
    /// (needs a terminal; uses `cargo insta review` when installed)
    #[arg(long)]
    pub review: bool,
    /// Accept every leak as it is now, writing its snapshot, and every
    /// session growth, listing it in .config/leakcheck-accepted.toml
    #[arg(long)]
    pub accept: bool,
}

/// Reporting.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputOpts {
    /// Also write the machine report (JSON, version 1) to PATH; `-` is
    /// stdout (the human report stays on stderr)
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write a JUnit XML report to PATH: a testsuite per test binary,
    /// a testcase per leak test and per session
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Also write a self-contained HTML report to PATH, with a plot of each
    /// site's retained bytes across the checkpoints
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Coloring [default: CARGO_TERM_COLOR, else auto]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    /// Print only problems and the summary; no progress bar
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: every site, the test binaries' output, cargo's verbose output
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

/// When to use colours (cargo's `--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal
    Auto,
    /// Always colour
    Always,
    /// Never colour
    Never,
}

impl ColorChoice {
    /// The value cargo takes for `--color`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

/// How leak snapshots are handled; passed to the tests as `INSTA_UPDATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Compare only.
    Check,
    /// Write `.snap.new` files, then review them.
    Review,
    /// Overwrite snapshots with what was measured.
    Accept,
}

impl SnapshotMode {
    /// The `INSTA_UPDATE` value for this mode.
    pub fn insta_update(self) -> &'static str {
        match self {
            SnapshotMode::Check => "no",
            SnapshotMode::Review => "new",
            SnapshotMode::Accept => "always",
        }
    }
}

/// The per-process time limit; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a number, 1 or more; got `{s}`")),
    }
}

fn parse_timeout(s: &str) -> Result<Timeout, String> {
    crate::config::parse_duration(s).map(Timeout)
}

/// How much to print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Problems and the summary only.
    Quiet,
    /// The report.
    #[default]
    Normal,
    /// Everything, with the test binaries' output.
    Verbose,
}

impl Opts {
    /// The snapshot mode; `--check` when none is given.
    pub fn snapshot_mode(&self) -> SnapshotMode {
        match (&self.snapshots.review, &self.snapshots.accept) {
            (true, _) => SnapshotMode::Review,
            (_, true) => SnapshotMode::Accept,
            _ => SnapshotMode::Check,
        }
    }

    /// The verbosity from `-q`/`-v`.
    pub fn verbosity(&self) -> Verbosity {
        match (self.output.quiet, self.output.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            _ => Verbosity::Verbose,
        }
    }
}

impl Selection {
    /// These flags as cargo takes them.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for p in &self.package {
            args.extend(["--package".to_owned(), p.clone()]);
        }
        flag(&mut args, self.workspace, "--workspace");
        for e in &self.exclude {
            args.extend(["--exclude".to_owned(), e.clone()]);
        }
        flag(&mut args, self.lib, "--lib");
        for t in &self.test {
            args.extend(["--test".to_owned(), t.clone()]);
        }
        flag(&mut args, self.tests, "--tests");
        args
    }
}

impl BuildOpts {
    /// These flags as cargo takes them, except `--target-dir`, which
    /// leakcheck replaces with its own subdirectory.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for f in &self.features {
            args.extend(["--features".to_owned(), f.clone()]);
        }
        flag(&mut args, self.all_features, "--all-features");
        flag(&mut args, self.no_default_features, "--no-default-features");
        flag(&mut args, self.release, "--release");
        if let Some(p) = &self.profile {
            args.extend(["--profile".to_owned(), p.clone()]);
        }
        if let Some(t) = &self.target {
            args.extend(["--target".to_owned(), t.clone()]);
        }
        if let Some(m) = &self.manifest_path {
            args.extend(["--manifest-path".to_owned(), m.display().to_string()]);
        }
        args.extend(self.lock_args());
        args
    }

    /// `--locked`, `--offline`, `--frozen` as given; `cargo metadata` takes
    /// them too.
    pub fn lock_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        flag(&mut args, self.locked, "--locked");
        flag(&mut args, self.offline, "--offline");
        flag(&mut args, self.frozen, "--frozen");
        args
    }
}

fn flag(args: &mut Vec<String>, on: bool, name: &str) {
    if on {
        args.push(name.to_owned());
    }
}
