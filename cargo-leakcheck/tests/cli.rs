//! The real binary, on command lines that must fail fast with exit code 2
//! and one clear line (clap's own text, with its tips and the usage, for a
//! command line clap rejects).

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

/// Exit code 2, nothing on stdout, and clap's error: its first line, its
/// `tip:` lines, the usage.
fn assert_clap_error(out: &Output, expected: &str, tip: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty());
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("error: {expected}"), "{stderr}");
    assert!(stderr.contains(tip), "expected `{tip}` in: {stderr}");
    assert!(
        stderr.ends_with("For more information, try '--help'.\n"),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b'), "no colour in a pipe: {stderr}");
}

#[test]
fn an_unknown_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--no-such-flag"], dir.path());
    assert_clap_error(
        &out,
        "unexpected argument '--no-such-flag' found",
        "tip: to pass '--no-such-flag' as a value, use '-- --no-such-flag'",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\nUsage: cargo leakcheck [OPTIONS]"),
        "{stderr}"
    );
    let out = leakcheck(&["--jsonn", "r.json"], dir.path());
    assert_clap_error(
        &out,
        "unexpected argument '--jsonn' found",
        "tip: a similar argument exists: '--json'",
    );
}

#[test]
fn a_missing_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--timeout"], dir.path());
    assert_clap_error(
        &out,
        "a value is required for '--timeout <DURATION>' but none was supplied",
        "but none was supplied",
    );
}

#[test]
fn the_version_is_the_program_s() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--version"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cargo-leakcheck 0.1.0\n"
    );
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

#[test]
fn junit_and_html_paths_in_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck(&["--junit", "no/such/dir/junit.xml"], dir.path());
    assert_usage_error(
        &out,
        "cannot write the JUnit report to `no/such/dir/junit.xml`: its directory does not exist",
    );
    let out = leakcheck(&["--html", "no/such/dir/r.html"], dir.path());
    assert_usage_error(
        &out,
        "cannot write the HTML report to `no/such/dir/r.html`: its directory does not exist",
    );
}

/// Two snapshot files of one changed line, for `diff` runs that need no build.
fn two_snapshots(dir: &Path) -> [std::path::PathBuf; 2] {
    use leakcheck_rt::{Frame, FrameKind, Snapshot, Trace, Traceback};
    let trace = |size| Trace {
        traceback: Traceback::new(vec![Frame {
            file: "src/lib.rs".into(),
            line: 10,
            function: "svc::handle".into(),
            kind: FrameKind::Workspace,
        }]),
        size,
        count: size / 64,
    };
    let paths = [dir.join("a.json"), dir.join("b.json")];
    Snapshot::from_traces(vec![trace(640)], 25)
        .dump(&paths[0])
        .unwrap();
    Snapshot::from_traces(vec![trace(64_000)], 25)
        .dump(&paths[1])
        .unwrap();
    paths
}

#[test]
fn no_color_and_clicolor_force_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = two_snapshots(dir.path());
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-leakcheck"));
        cmd.args(["leakcheck", "diff"])
            .arg(&a)
            .arg(&b)
            .env_remove("CARGO_TERM_COLOR")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let plain = run(&[]);
    assert!(plain.contains("src/lib.rs:10"), "{plain}");
    assert!(!plain.contains('\x1b'), "a pipe is not coloured: {plain}");
    assert!(run(&[("CLICOLOR_FORCE", "1")]).contains("\x1b["));
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
    // An explicit choice is final.
    assert!(run(&[("NO_COLOR", "1"), ("CARGO_TERM_COLOR", "always")]).contains("\x1b["));
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("CARGO_TERM_COLOR", "never")]).contains('\x1b'));
}
