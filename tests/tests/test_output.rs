//! How `cargo leakcheck` keeps and reads a test process's output (the
//! `outputs` fixture): a flood of output costs it little memory and hides
//! no result, and a test that closes stdout or exits the process is named
//! in the binary's fault line.

use std::process::Stdio;
use std::time::Duration;

use leakcheck_tests::{cargo_leakcheck, cargo_leakcheck_bin, clean_command, fixture, serial};

/// The peak resident memory of a live process (`VmHWM`), in bytes.
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Two tests' subprocesses write 100 MB to stdout between a failing test's
/// lines: `cargo leakcheck` keeps a bounded part of it (before, it held
/// the whole output three times over), and still reads the counts, the
/// failed test and its panic.
#[cfg(target_os = "linux")]
#[test]
fn a_flood_of_output_costs_little_memory_and_hides_no_result() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr");
    let mut child = clean_command(cargo_leakcheck_bin(), &fixture("outputs"))
        .args(["leakcheck", "--test", "floods"])
        .env("OUTPUTS_FLOOD_MB", "50")
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("cargo-leakcheck starts");
    // The high-water mark only grows: the last reading before the exit
    // holds the peak of all but the run's last moments.
    let mut peak = 0;
    let status = loop {
        if let Some(rss) = peak_rss(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("3 tests run: 2 passed, 1 failed"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("outputs::floods") && l.contains("b_fails_amid_the_flood")),
        "{stderr}"
    );
    assert!(stderr.contains("b fails amid the flood"), "{stderr}");
    assert!(
        peak < 100 << 20,
        "cargo leakcheck peaked at {} MiB",
        peak >> 20
    );
}

#[test]
fn a_test_that_closes_stdout_is_named() {
    let _serial = serial();
    let run = cargo_leakcheck("outputs", &["--test", "closes_stdout"]);
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("outputs::closes_stdout:"))
        .unwrap_or_else(|| panic!("no fault line:\n{}", run.stderr));
    assert!(
        line.ends_with(
            "outputs::closes_stdout: its stdout (fd 1) was closed during test \
             `a_closes_stdout`, and libtest's results were lost with it; it exited with \
             status 0 (no `test result:` line)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_test_that_exits_the_process_is_named_with_its_status() {
    let _serial = serial();
    let run = cargo_leakcheck("outputs", &["--test", "exits"]);
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    assert!(
        run.stderr.lines().any(|l| l.ends_with(
            "outputs::exits: test `b_exits_with_3` exited the process with status 3 before \
             the run finished (no `test result:` line); a `std::process::exit` in the test?"
        )),
        "{}",
        run.stderr
    );
}
