//! The real binary, on command lines that must fail fast with exit code 2
//! and one clear line.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn leakcheck(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-leakcheck"))
        .arg("leakcheck")
        .args(args)
        .current_dir(cwd)
        .env_remove("CARGO_TERM_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// Exit code 2, nothing on stdout, and exactly one line on stderr.
fn assert_usage_error(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in: {stderr}"
    );
}

#[test]
fn an_unknown_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--no-such-flag"], dir.path());
    assert_usage_error(&out, "unexpected argument '--no-such-flag' found");
}

#[test]
fn a_missing_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--timeout"], dir.path());
    assert_usage_error(&out, "a value is required for '--timeout <DURATION>'");
}

#[test]
fn a_missing_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--manifest-path", "nowhere/Cargo.toml"], dir.path());
    assert_usage_error(&out, "manifest path `nowhere/Cargo.toml` does not exist");
}

#[test]
fn an_unreadable_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = ").unwrap();
    let out = leakcheck(&["--manifest-path", "Cargo.toml"], dir.path());
    assert_usage_error(
        &out,
        "failed to read the workspace: unclosed table, expected `]` (at Cargo.toml:1:9)",
    );
}

#[test]
fn no_manifest_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&[], dir.path());
    assert_usage_error(&out, "could not find `Cargo.toml`");
}

#[test]
fn review_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--review"], dir.path());
    assert_usage_error(&out, "--review needs a terminal");
}

#[test]
fn a_json_path_in_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--json", "no/such/dir/report.json"], dir.path());
    assert_usage_error(&out, "its directory does not exist");
}
