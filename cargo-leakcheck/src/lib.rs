//! `cargo leakcheck`: runs a crate's test suite under leakcheck and fails
//! CI on a new or grown leak.
//!
//! ```
//! // What `cargo leakcheck --bogus` does: clap's error on stderr, exit code 2.
//! let code = cargo_leakcheck::main_with_args(["cargo-leakcheck", "leakcheck", "--bogus"]);
//! assert_eq!(code, cargo_leakcheck::errors::exit_codes::USAGE);
//! ```
//!
//! # How it works
//!
//! 1. `cargo test --no-run --message-format=json-render-diagnostics` builds
//!    the selected test targets with `-C force-frame-pointers=yes` (appended
//!    to every rustc command line by `cargo leakcheck` itself as cargo's
//!    `RUSTC_WRAPPER`, so no rustflags setting of the user's can drop it)
//!    and line tables, in `<target dir>/leakcheck`, so the user's build
//!    cache stays valid; leakcheck-rt and the symbolisation crates are
//!    built optimised in every profile
//!    (`OPTIMISED_PACKAGES` in `src/cargo/build.rs`).
//! 2. Every test binary lists its tests first (`--list` with the run's
//!    filter and arguments, less the `--ignored` list; `run::list`), on
//!    the `-j` threads, so the run's total is known before any test runs
//!    (`    Starting N tests across M binaries`, and the progress bar).
//!    Then each runs once as a *session*, with `LEAKCHECK_SESSION`
//!    naming the file where it records what was still live at exit. Live
//!    memory is charged to the test whose frame is on its call stack (the
//!    test names come from the run's `test NAME ... ok` lines, or the list
//!    when those do not add up), or taken from exact per-test snapshots
//!    under leakcheck's own harness. The session runs on libtest's threads,
//!    as `cargo test` does. When a test left memory live, the tests whose
//!    share depends on the threads' timing (which test filled a shared
//!    cache first) run again one at a time (`src/run/doubt.rs`); the whole
//!    binary does when a test failed or the run crashed or stopped early
//!    (not when it ran out of time, which would double the wait; the
//!    report then names the listed tests that had not finished), so that
//!    the last test it names is the one that was running
//!    (`src/run/binary.rs`, `run_again`). A site where at
//!    least `--session-min-tests` tests each
//!    left memory is session growth, a site with fewer is a one-time cost.
//!    std's backtrace cache is never judged, known registries of test
//!    frameworks never fail (`leakcheck_format::known`), and sites
//!    listed in `.config/leakcheck-accepted.toml` (`src/accepted.rs`) are
//!    accepted growth.
//!    The sessions run `-j` at a time (`src/settings.rs`: the command line, then
//!    `CARGO_LEAKCHECK_*`, then `.config/leakcheck.toml`, then defaults),
//!    each printing a line as it ends; `--partition` keeps one shard's
//!    binaries, and `cargo leakcheck merge` joins the shards' reports.
//! 3. Each `#[leak_test]` the session ran is measured again alone in its own
//!    process (`LEAKCHECK_MODE=measure`), which writes its report to
//!    `LEAKCHECK_REPORT`; `INSTA_UPDATE` carries `--check`, `--review` or
//!    `--accept`.
//! 4. The human report goes to stderr, `--json PATH` writes the version 1
//!    machine report (atomically to a regular file; through a symlink, FIFO
//!    or device; `-` is stdout), `--junit PATH` JUnit XML and
//!    `--html PATH` a self-contained page with a growth plot per site; under
//!    GitHub Actions, annotations and a step summary are added
//!    (`src/render/github.rs`); and the exit code says what was found
//!    ([`errors::exit_codes`]).
//!
//! Every child runs in a process group of its own, killed whole at the time
//! limit and on SIGINT/SIGTERM/SIGHUP/SIGQUIT, which end the run with exit
//! code 130/143/129/131 (`src/run/interrupt.rs`); a test process dies with
//! the run even when it is killed outright (`src/run/parent_death.rs`).
//!
//! # Module map
//!
//! | module | what it holds |
//! | --- | --- |
//! | `cli/` | the command line: clap types (`app.rs`, `diff.rs`, `merge.rs`) and parsing |
//! | `settings.rs` | the resolved settings of a run: command line > `CARGO_LEAKCHECK_*` > file > defaults |
//! | `config.rs` | `.config/leakcheck.toml`, the workspace's defaults |
//! | `partition.rs` | `--partition count:K/N` / `hash:K/N`: one shard's binaries |
//! | `exec.rs` | one run, from parsed options to an exit code; `-j` scheduling |
//! | `merge.rs` | `cargo leakcheck merge`: the shards' reports joined into one run |
//! | `cargo/` | the workspace, the build, the rustc wrapper that adds frame pointers, and the build of the library `run` preloads |
//! | `run/` | the test binaries: the session run and each leak test's own run (`binary.rs`), the `-j` threads (`pool.rs`), processes and their time limit, signals, session analysis; the handshake itself is `leakcheck_format::protocol` |
//! | `outcome.rs` | what a run found: per binary its session analysis and leak tests, the summary, the exit code |
//! | `render/` | the outcome's renderings: human, JSON, JUnit, HTML, GitHub Actions; the report-file writer |
//! | `accepted.rs` | `.config/leakcheck-accepted.toml`, session growth accepted as known |
//! | `review.rs` | `--review`: accepting or rejecting the leak snapshots a run wrote |
//! | `diff/` | `cargo leakcheck diff`: snapshots dumped by a running service |
//! | `launch/` | `cargo leakcheck run -- PROGRAM`: the program read before it starts (`program.rs`), then `exec`ed with leakcheck's library preloaded (`run.rs`) |
//! | `errors.rs` | the one error type and the exit codes |
//! | `signals.rs` | Unix signals by name, for reports and errors |
//! | `binary_id.rs` | a test binary's name (nextest's binary ID) and the one to write for a name from before |
//! | `ui.rs` | colours, verbosity, the progress bar and the line per finished process |
//!
//! # Known limitations
//!
//! - A rustc wrapper set in a config file (`build.rustc-wrapper`) is not
//!   used for leakcheck's build, which has its own; one set in
//!   `RUSTC_WRAPPER` is.
//! - Session attribution needs the test's own frame within the recorded
//!   stack depth; memory allocated deeper, or by threads a test spawned,
//!   counts as harness memory and is not judged.
//! - The optimiser may remove allocations in release builds; and only
//!   allocations through the global allocator are seen.
//! - A `harness = false` target with a `main` of its own is recognised by
//!   its output (no libtest lines) and judged by its exit status; its
//!   tests are not listed or told apart.
//! - A test's child that leaves its process group (`setsid`) survives the
//!   time limit and an interrupted run; SIGKILL to `cargo leakcheck`
//!   itself kills the test processes (on Linux, their parent-death
//!   signal), but orphans their own children and leaves the scratch
//!   directories behind.

#![forbid(unsafe_code)]

mod accepted;
mod binary_id;
mod cargo;
mod cli;
mod config;
mod diff;
pub mod errors;
mod exec;
mod launch;
mod merge;
mod outcome;
mod partition;
mod render;
mod review;
mod run;
mod settings;
mod signals;
mod ui;

use std::ffi::OsString;

/// Runs `cargo leakcheck` with `args` (program name first); returns the
/// process exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Started by cargo as the build's rustc wrapper (see `cargo::rustc_wrapper`).
    if let Some(code) = cargo::rustc_wrapper::run_if_wrapping(&args) {
        return code;
    }
    // Started by a run to exec a test process (see `run::parent_death`).
    if let Some(code) = run::parent_death::run_if_shim(&args) {
        return code;
    }
    run::parent_death::enable();
    let result = match cli::parse(args) {
        cli::Parsed::Run(opts) => exec::execute(&opts),
        cli::Parsed::Diff(opts) => diff::execute(&opts),
        cli::Parsed::Merge(opts) => merge::execute(&opts),
        cli::Parsed::Launch(opts) => launch::run::execute(&opts),
        cli::Parsed::Print(e) => {
            let _ = e.print();
            return e.exit_code();
        }
        cli::Parsed::Usage(e) => {
            // clap's own text: the error, its `tip:` lines and the usage.
            let _ = e.print();
            return errors::exit_codes::USAGE;
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // After SIGHUP the terminal may be gone: no panic for that.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.process_exit_code()
        }
    }
}
