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
    use leakcheck_format::{Frame, FrameKind, Snapshot, Trace, Traceback};
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

/// `a.json` of [`two_snapshots`] as a dump of process 7 names it, number
/// `seq`, `ms` after its first snapshot.
fn with_origin(path: &Path, seq: u64, ms: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let origin = format!(
        r#","origin":{{"leakcheck":"0.1.0","pid":7,"process_started_ms":1000,"seq":{seq},"uptime_ms":{ms},"taken_at_ms":{}}}}}"#,
        1000 + ms
    );
    let text = text.trim_end().strip_suffix('}').unwrap().to_owned() + &origin;
    std::fs::write(path, text).unwrap();
}

#[test]
fn diff_refuses_hand_edited_sizes_near_2_64() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = two_snapshots(dir.path());
    let text = std::fs::read_to_string(&b).unwrap();
    assert!(text.contains("\"size\":64000"), "{text}");
    std::fs::write(
        &b,
        text.replace("\"size\":64000", "\"size\":18446744073709551615"),
    )
    .unwrap();
    let out = leakcheck(
        &["diff", a.to_str().unwrap(), b.to_str().unwrap()],
        dir.path(),
    );
    assert_usage_error(&out, "its sizes add up to more than 2^63 - 1");
}

#[test]
fn diff_refuses_a_snapshot_given_twice_and_a_time_that_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = two_snapshots(dir.path());
    with_origin(&a, 1, 5_000);
    let a_arg = a.to_str().unwrap();
    let out = leakcheck(&["diff", a_arg, a_arg], dir.path());
    assert_usage_error(&out, "are the same snapshot (number 1 of its process)");
    with_origin(&b, 2, 4_000);
    let out = leakcheck(&["diff", a_arg, b.to_str().unwrap()], dir.path());
    assert_usage_error(
        &out,
        &format!(
            "b.json is numbered after {a_arg}, but its time since the process's first \
             snapshot (4000 ms) is before that one's (5000 ms)"
        ),
    );
}

#[test]
fn merge_refuses_hand_edited_counts_near_2_64() {
    let dir = tempfile::tempdir().unwrap();
    let report = |k: u64, binary: &str, tests: &str| {
        let text = format!(
            r#"{{"version": 1, "tests": [], "session": {{"verdict": "clean", "sites": []}},
  "partition": "count:{k}/2",
  "binaries": [{{"binary": "{binary}", "instrumented": true, "no_tests": false,
    "own_main": false, "fault": null, "failed_tests": [], "tests_run": {tests},
    "tests_passed": {tests}, "detail": null,
    "session": {{"sites": [], "unattributed": [0, 0], "std_caches": [0, 0]}},
    "leak_tests": [], "unwinder": false}}]}}"#
        );
        let path = dir.path().join(format!("{k}.json"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let one = report(1, "a", "3");
    let two = report(2, "b", "18446744073709551615");
    let out = leakcheck(
        &["merge", one.to_str().unwrap(), two.to_str().unwrap()],
        dir.path(),
    );
    assert_usage_error(
        &out,
        "binary `b`: its number of tests is more than any run can have (was the file edited?)",
    );
    // The same reports with figures a run can have merge, and checked
    // something: exit 0.
    let two = report(2, "b", "4");
    let out = leakcheck(
        &["merge", one.to_str().unwrap(), two.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
