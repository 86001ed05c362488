//! The one error type of `cargo leakcheck`, and its exit codes.

use std::io;
use std::path::PathBuf;

/// Exit codes of `cargo leakcheck`.
///
/// When several apply, the highest-ranked one wins, in this order:
/// [`INTERRUPTED`](exit_codes::INTERRUPTED) (130),
/// [`TERMINATED`](exit_codes::TERMINATED) (143), [`HANGUP`](exit_codes::HANGUP) (129) and
/// [`QUIT`](exit_codes::QUIT) (131) > [`USAGE`](exit_codes::USAGE) (2) > [`BUILD_FAILED`](exit_codes::BUILD_FAILED) (3) >
/// [`BINARY_FAILED`](exit_codes::BINARY_FAILED) (4) > [`NO_TESTS`](exit_codes::NO_TESTS) (5) >
/// [`LEAK_FOUND`](exit_codes::LEAK_FOUND) (1) >
/// [`OK`](exit_codes::OK) (0). A higher-ranked code means the report is
/// less complete: a crashed binary (4) outranks a leak found in another
/// binary (1), so a run whose check was partial never looks like an ordinary
/// "a leak was found" result; the report still lists the leak, and CI fails
/// either way.
pub mod exit_codes {
    /// Nothing grew, and every test passed.
    pub const OK: i32 = 0;
    /// The run completed and found a problem in the code under test: a leak
    /// that is new or grew past its accepted snapshot, session growth, or a
    /// failing test.
    pub const LEAK_FOUND: i32 = 1;
    /// The command line or its environment is wrong: an unknown flag, a
    /// missing value, a missing or unreadable manifest, a `--json`,
    /// `--junit` or `--html` path that cannot be written, `--review`
    /// without a terminal or a review that could not be carried out, an
    /// accepted-sites file that cannot be read, parsed or written; for
    /// `cargo leakcheck diff`, a snapshot that is missing, corrupt, of
    /// another process, version or frame depth, or out of order; for
    /// `cargo leakcheck run`, a program that is not found, cannot be
    /// tracked or cannot be started.
    pub const USAGE: i32 = 2;
    /// The test targets did not build; cargo's diagnostics are above. For
    /// `cargo leakcheck run`, leakcheck's preloaded library did not build.
    pub const BUILD_FAILED: i32 = 3;
    /// A test binary could not be checked: it could not start, crashed, was
    /// killed by a signal, timed out, or wrote no readable results. The
    /// other binaries are still run and reported.
    pub const BINARY_FAILED: i32 = 4;
    /// The run checked nothing: no test to run (a TESTNAME filter that
    /// matches none), no test binary, or none that leakcheck measured; a
    /// failure unless `--no-tests=pass` or `--no-tests=warn`, as nextest's
    /// `--no-tests`.
    pub const NO_TESTS: i32 = 5;
    /// SIGINT (Ctrl-C) stopped the run: the test processes were killed
    /// with their process groups and no report was written. 128 + 2, as a
    /// shell reports a process that SIGINT ended.
    pub const INTERRUPTED: i32 = 130;
    /// SIGTERM (a CI cancel, `timeout`) stopped the run, as for
    /// [`INTERRUPTED`]. 128 + 15.
    pub const TERMINATED: i32 = 143;
    /// SIGHUP (the terminal was closed) stopped the run, as for
    /// [`INTERRUPTED`]. 128 + 1.
    pub const HANGUP: i32 = 129;
    /// SIGQUIT (Ctrl-\\) stopped the run, as for [`INTERRUPTED`]. 128 + 3.
    pub const QUIT: i32 = 131;

    /// The exit code of a run stopped by `signal`: 128 + its number, as a
    /// shell reports a process that the signal ended.
    pub fn interrupted_by(signal: i32) -> i32 {
        128 + signal
    }

    /// The code that wins when both `a` and `b` apply (see the module docs).
    pub fn worst(a: i32, b: i32) -> i32 {
        if rank(a) >= rank(b) { a } else { b }
    }

    fn rank(code: i32) -> u8 {
        match code {
            OK => 0,
            LEAK_FOUND => 1,
            NO_TESTS => 2,
            BINARY_FAILED => 3,
            BUILD_FAILED => 4,
            USAGE => 5,
            INTERRUPTED | TERMINATED | HANGUP | QUIT => 6,
            // Unknown codes only come from outside this module; treat them
            // as the most serious.
            _ => 7,
        }
    }
}

/// Why `cargo leakcheck` could not finish.
///
/// Faults of single test binaries are not errors: they are part of the
/// report (see `report::outcome`), so the other binaries are still checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--manifest-path` names no file.
    #[error("manifest path `{}` does not exist", .0.display())]
    ManifestMissing(PathBuf),
    /// `cargo metadata` failed: no manifest found, or it cannot be read.
    #[error("failed to read the workspace: {0}")]
    Metadata(String),
    /// `--review` asks questions, which needs a terminal.
    #[error(
        "--review needs a terminal to ask about each leak snapshot; use --accept to accept all, or --check"
    )]
    ReviewNeedsTerminal,
    /// The directory of `--json PATH` does not exist.
    #[error("cannot write the JSON report to `{}`: its directory does not exist", .0.display())]
    JsonDirMissing(PathBuf),
    /// Writing the JSON report failed.
    #[error("failed to write the JSON report to `{}`: {source}", .path.display())]
    WriteReport {
        /// The report's path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The directory of `--junit` or `--html` does not exist.
    #[error("cannot write the {what} to `{}`: its directory does not exist", .path.display())]
    OutputDirMissing {
        /// Which report (`JUnit report`, `HTML report`).
        what: &'static str,
        /// The report's path.
        path: PathBuf,
    },
    /// A report path names a directory, or a symlink that leads nowhere
    /// it can be written.
    #[error("cannot write the {what} to `{}`: {reason}", .path.display())]
    OutputPath {
        /// Which report (`JSON report`, `JUnit report`, `HTML report`).
        what: &'static str,
        /// The report's path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Two report flags name one file: the second would overwrite the first.
    #[error("{first} and {second} name the same file `{}`: each report needs a file of its own", .path.display())]
    SameOutput {
        /// The first flag (`--json`).
        first: &'static str,
        /// The second flag (`--junit`).
        second: &'static str,
        /// The path, as the second flag gives it.
        path: PathBuf,
    },
    /// Writing the JUnit or HTML report, or the GitHub step summary, failed.
    #[error("failed to write the {what} to `{}`: {source}", .path.display())]
    WriteOutput {
        /// Which report.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// cargo itself could not be started.
    #[error("failed to run `{program}`: {source}")]
    CargoSpawn {
        /// The cargo executable.
        program: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `cargo test --no-run` failed.
    #[error("failed to build the test targets ({0})")]
    Build(String),
    /// A snapshot given to `cargo leakcheck diff` is missing, corrupt, or
    /// does not belong with the others; the message says which.
    #[error("{0}")]
    Snapshot(String),
    /// Reviewing the leak snapshots failed.
    #[error("failed to review the leak snapshots: {0}")]
    Review(String),
    /// The accepted-sites file cannot be read, parsed or written.
    #[error("bad accepted-sites file {}: {reason}", .path.display())]
    AcceptedFile {
        /// The file.
        path: PathBuf,
        /// Why, with the line for a parse error (`line 3: ...`).
        reason: String,
    },
    /// `.config/leakcheck.toml` cannot be read or parsed.
    #[error("bad configuration: {}: {reason}", .path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Why, with the line (`line 2: ...`).
        reason: String,
    },
    /// A `CARGO_LEAKCHECK_*` variable holds a value that is not one.
    #[error("bad configuration: {var}={value}: {reason}")]
    ConfigVar {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// `--native` on a platform without glibc's `malloc`.
    #[error("--native tracks glibc's malloc: it needs Linux with glibc")]
    NativeUnsupported,
    /// `cargo leakcheck run` where glibc's dynamic loader is not.
    #[error(
        "cargo leakcheck run preloads a library with glibc's dynamic loader: it needs Linux with glibc"
    )]
    RunUnsupported,
    /// The program `cargo leakcheck run` was given cannot be tracked, or
    /// could not be started.
    #[error("`{program}` {reason}")]
    Program {
        /// The program as given (made safe for a terminal).
        program: String,
        /// Why, in one line.
        reason: String,
    },
    /// `-p` or `--test` names nothing in the workspace.
    #[error("{0}")]
    Selection(String),
    /// A report given to `cargo leakcheck merge` is missing, unreadable,
    /// or repeats a binary of another.
    #[error("failed to merge the reports: {}: {reason}", .path.display())]
    Merge {
        /// The report.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT stopped the run.
    #[error(
        "interrupted by {}; the test processes were stopped and no report was written",
        signal_label(*.signal)
    )]
    Interrupted {
        /// The signal's number.
        signal: i32,
    },
}

fn signal_label(signal: i32) -> String {
    match crate::signals::signal_name(signal) {
        Some((name, _)) => name.to_owned(),
        None => format!("signal {signal}"),
    }
}

impl Error {
    /// The process exit code for this error (see [`exit_codes`]).
    pub fn process_exit_code(&self) -> i32 {
        use exit_codes::*;
        match self {
            Error::ManifestMissing(_)
            | Error::Metadata(_)
            | Error::ReviewNeedsTerminal
            | Error::JsonDirMissing(_)
            | Error::WriteReport { .. }
            | Error::OutputDirMissing { .. }
            | Error::OutputPath { .. }
            | Error::SameOutput { .. }
            | Error::WriteOutput { .. }
            | Error::Snapshot(_)
            | Error::Review(_)
            | Error::AcceptedFile { .. }
            | Error::ConfigFile { .. }
            | Error::ConfigVar { .. }
            | Error::Selection(_)
            | Error::NativeUnsupported
            | Error::RunUnsupported
            | Error::Program { .. }
            | Error::Merge { .. } => USAGE,
            Error::CargoSpawn { .. } | Error::Build(_) => BUILD_FAILED,
            Error::Interrupted { signal } => interrupted_by(*signal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exit_codes::*;
    use super::*;

    #[test]
    fn each_error_has_its_documented_code() {
        let io = || io::Error::other("boom");
        let cases = [
            (Error::ManifestMissing("x/Cargo.toml".into()), USAGE),
            (Error::Metadata("no Cargo.toml".into()), USAGE),
            (Error::ReviewNeedsTerminal, USAGE),
            (Error::JsonDirMissing("nope/r.json".into()), USAGE),
            (
                Error::WriteReport {
                    path: "r.json".into(),
                    source: io(),
                },
                USAGE,
            ),
            (
                Error::CargoSpawn {
                    program: "cargo".into(),
                    source: io(),
                },
                BUILD_FAILED,
            ),
            (Error::Build("exit status: 101".into()), BUILD_FAILED),
            (
                Error::OutputDirMissing {
                    what: "JUnit report",
                    path: "nope/j.xml".into(),
                },
                USAGE,
            ),
            (
                Error::WriteOutput {
                    what: "HTML report",
                    path: "r.html".into(),
                    source: io(),
                },
                USAGE,
            ),
            (Error::Snapshot("snapshot a.json is corrupt".into()), USAGE),
            (
                Error::Interrupted {
                    signal: libc::SIGINT,
                },
                INTERRUPTED,
            ),
            (
                Error::Interrupted {
                    signal: libc::SIGTERM,
                },
                TERMINATED,
            ),
            (
                Error::Interrupted {
                    signal: libc::SIGHUP,
                },
                HANGUP,
            ),
            (
                Error::Interrupted {
                    signal: libc::SIGQUIT,
                },
                QUIT,
            ),
            (
                Error::AcceptedFile {
                    path: ".config/leakcheck-accepted.toml".into(),
                    reason: "line 2: bad".into(),
                },
                USAGE,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.process_exit_code(), code, "{error}");
            assert!(!error.to_string().contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn precedence_is_interrupted_usage_build_binary_leak_ok() {
        assert_eq!(worst(INTERRUPTED, USAGE), INTERRUPTED);
        assert_eq!(worst(LEAK_FOUND, TERMINATED), TERMINATED);
        assert_eq!(worst(HANGUP, USAGE), HANGUP);
        assert_eq!(worst(BINARY_FAILED, QUIT), QUIT);
        let order = [USAGE, BUILD_FAILED, BINARY_FAILED, NO_TESTS, LEAK_FOUND, OK];
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i..] {
                assert_eq!(worst(a, b), a, "{a} vs {b}");
                assert_eq!(worst(b, a), a, "{b} vs {a}");
            }
        }
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            Error::ManifestMissing("nope/Cargo.toml".into()).to_string(),
            "manifest path `nope/Cargo.toml` does not exist"
        );
        assert_eq!(
            Error::Interrupted {
                signal: libc::SIGTERM
            }
            .to_string(),
            "interrupted by SIGTERM; the test processes were stopped and no report was written"
        );
    }
}
