//! The table of valid and invalid command lines.

use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;

use super::app::Timeout;
use super::*;
use crate::partition::{Partition, Scheme};

fn parse_ok(line: &str) -> Opts {
    let args = shell_words(line);
    match Cargo::try_parse_from(&args) {
        Ok(Cargo::Leakcheck(opts)) => *opts,
        Err(e) => panic!("`{line}` should parse: {e}"),
    }
}

/// Splits on spaces; the table needs no quoting.
fn shell_words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn valid_command_lines() {
    type Check = fn(&Opts) -> bool;
    let table: &[(&str, Check)] = &[
        ("cargo leakcheck", |o| {
            o.filter.is_none()
                && o.test_args.is_empty()
                && o.snapshot_mode() == SnapshotMode::Check
                && o.verbosity() == Verbosity::Normal
                && o.run.timeout.is_none()
                && o.run.session_min_tests.is_none()
                && o.run.jobs.is_none()
                && o.run.partition.is_none()
                && o.selection.cargo_args().is_empty()
                && o.build.cargo_args().is_empty()
        }),
        // Run directly rather than through cargo: the same argv shape.
        ("cargo-leakcheck leakcheck --check", |o| {
            o.snapshot_mode() == SnapshotMode::Check
        }),
        ("cargo leakcheck handle_request", |o| {
            o.filter.as_deref() == Some("handle_request")
        }),
        (
            "cargo leakcheck leak -- --include-ignored --skip slow",
            |o| {
                o.filter.as_deref() == Some("leak")
                    && o.test_args == ["--include-ignored", "--skip", "slow"]
            },
        ),
        (
            "cargo leakcheck --json - --junit target/j.xml --html r.html",
            |o| {
                o.output.json.as_deref() == Some(std::path::Path::new("-"))
                    && o.output.junit.as_deref() == Some(std::path::Path::new("target/j.xml"))
                    && o.output.html.as_deref() == Some(std::path::Path::new("r.html"))
            },
        ),
        ("cargo leakcheck -- --nocapture", |o| {
            o.filter.is_none() && o.test_args == ["--nocapture"]
        }),
        (
            "cargo leakcheck -p a --package b --workspace --exclude c --lib --test t1 --test t2 --tests",
            |o| {
                o.selection.cargo_args()
                    == [
                        "--package",
                        "a",
                        "--package",
                        "b",
                        "--workspace",
                        "--exclude",
                        "c",
                        "--lib",
                        "--test",
                        "t1",
                        "--test",
                        "t2",
                        "--tests",
                    ]
            },
        ),
        (
            "cargo leakcheck -F x,y --features z --all-features --no-default-features -r --target x86_64-unknown-linux-gnu --manifest-path w/Cargo.toml --locked --offline --frozen",
            |o| {
                o.build.cargo_args()
                    == [
                        "--features",
                        "x,y",
                        "--features",
                        "z",
                        "--all-features",
                        "--no-default-features",
                        "--release",
                        "--target",
                        "x86_64-unknown-linux-gnu",
                        "--manifest-path",
                        "w/Cargo.toml",
                        "--locked",
                        "--offline",
                        "--frozen",
                    ]
            },
        ),
        ("cargo leakcheck --profile bench --target-dir /tmp/t", |o| {
            o.build.profile.as_deref() == Some("bench")
                && o.build.target_dir.as_deref() == Some("/tmp/t".as_ref())
                // leakcheck picks its own subdirectory, so it is not forwarded as given.
                && o.build.cargo_args() == ["--profile", "bench"]
        }),
        ("cargo leakcheck --review", |o| {
            o.snapshot_mode() == SnapshotMode::Review
        }),
        ("cargo leakcheck --accept", |o| {
            o.snapshot_mode() == SnapshotMode::Accept
        }),
        ("cargo leakcheck --json out/report.json", |o| {
            o.output.json.as_deref() == Some("out/report.json".as_ref())
        }),
        ("cargo leakcheck --color never", |o| {
            o.output.color == Some(ColorChoice::Never)
        }),
        ("cargo leakcheck -q", |o| o.verbosity() == Verbosity::Quiet),
        ("cargo leakcheck -vv", |o| {
            o.verbosity() == Verbosity::Verbose && o.output.verbose == 2
        }),
        ("cargo leakcheck --timeout 90", |o| {
            o.run.timeout == Some(Timeout(Some(Duration::from_secs(90))))
        }),
        ("cargo leakcheck --timeout 5m", |o| {
            o.run.timeout == Some(Timeout(Some(Duration::from_secs(300))))
        }),
        ("cargo leakcheck --timeout 0", |o| {
            o.run.timeout == Some(Timeout(None))
        }),
        ("cargo leakcheck --session-min-tests 2", |o| {
            o.run.session_min_tests == Some(2)
        }),
        ("cargo leakcheck -j 2", |o| o.run.jobs == Some(2)),
        ("cargo leakcheck --jobs 1", |o| o.run.jobs == Some(1)),
        ("cargo leakcheck --partition hash:2/3", |o| {
            o.run.partition
                == Some(Partition {
                    scheme: Scheme::Hash,
                    shard: 2,
                    total: 3,
                })
        }),
    ];
    for (line, check) in table {
        let opts = parse_ok(line);
        assert!(check(&opts), "`{line}` parsed to {opts:#?}");
    }
}

#[test]
fn invalid_command_lines() {
    let table: &[(&str, ErrorKind)] = &[
        ("cargo leakcheck --bogus", ErrorKind::UnknownArgument),
        ("cargo leakcheck --package", ErrorKind::InvalidValue),
        ("cargo leakcheck --json", ErrorKind::InvalidValue),
        (
            "cargo leakcheck --check --accept",
            ErrorKind::ArgumentConflict,
        ),
        (
            "cargo leakcheck --review --accept",
            ErrorKind::ArgumentConflict,
        ),
        ("cargo leakcheck -q -v", ErrorKind::ArgumentConflict),
        (
            "cargo leakcheck --release --profile dev",
            ErrorKind::ArgumentConflict,
        ),
        (
            "cargo leakcheck --exclude foo",
            ErrorKind::MissingRequiredArgument,
        ),
        ("cargo leakcheck --color sometimes", ErrorKind::InvalidValue),
        ("cargo leakcheck --timeout soon", ErrorKind::ValueValidation),
        ("cargo leakcheck --timeout 10d", ErrorKind::ValueValidation),
        (
            "cargo leakcheck --session-min-tests 0",
            ErrorKind::ValueValidation,
        ),
        (
            "cargo leakcheck --session-min-tests many",
            ErrorKind::ValueValidation,
        ),
        ("cargo leakcheck -j 0", ErrorKind::ValueValidation),
        ("cargo leakcheck --jobs all", ErrorKind::ValueValidation),
        (
            "cargo leakcheck --partition count:3/2",
            ErrorKind::ValueValidation,
        ),
        (
            "cargo leakcheck --partition 1/2",
            ErrorKind::ValueValidation,
        ),
        ("cargo leakcheck one two", ErrorKind::UnknownArgument),
        ("cargo leakchek", ErrorKind::InvalidSubcommand),
        ("cargo", ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand),
    ];
    for (line, kind) in table {
        match Cargo::try_parse_from(shell_words(line)) {
            Ok(parsed) => panic!("`{line}` should fail, parsed to {parsed:#?}"),
            Err(e) => assert_eq!(e.kind(), *kind, "`{line}`: {e}"),
        }
    }
}

#[test]
fn the_command_is_well_formed() {
    use clap::CommandFactory;
    Cargo::command().debug_assert();
}
