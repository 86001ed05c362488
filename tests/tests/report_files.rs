//! Where `--json` writes: `-` and `/dev/stdout` are stdout, a symlink is
//! written through (and stays a symlink), a FIFO's reader gets the report,
//! a missing directory is a one-line usage error.

#![cfg(unix)]

use std::os::unix::fs::FileTypeExt;

use leakcheck_rt::report::{Report, TestVerdict};
use leakcheck_tests::{Run, cargo_leakcheck, serial};

/// The seed fixture's report: its leak, and its clean test.
fn assert_seed_report(json: &str, run: &Run) {
    let report: Report = serde_json::from_str(json).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}):\n{json}\n--- stderr ---\n{}",
            run.stderr
        )
    });
    assert_eq!(report.version, 1);
    let verdicts: Vec<(&str, TestVerdict)> = report
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.verdict))
        .collect();
    assert!(
        verdicts.contains(&("handle_request_retains_every_payload", TestVerdict::Leak)),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("parsing_an_id_is_clean", TestVerdict::Clean)),
        "{verdicts:?}"
    );
}

#[test]
fn json_dash_is_stdout_and_the_human_report_stays_on_stderr() {
    let _serial = serial();
    let run = cargo_leakcheck("seed", &["--json", "-"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_seed_report(&run.stdout, &run);
    assert!(run.stderr.contains("Leak tests"), "{}", run.stderr);
    assert!(!run.stdout.contains("Leak tests"), "{}", run.stdout);
}

#[test]
fn json_to_dev_stdout_reaches_stdout() {
    let _serial = serial();
    let run = cargo_leakcheck("seed", &["--json", "/dev/stdout"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_seed_report(&run.stdout, &run);
    assert!(
        std::fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink(),
        "/dev/stdout was replaced"
    );
}

#[test]
fn a_symlink_is_written_through_and_stays_a_symlink() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("reports/latest.json");
    std::fs::create_dir(target.parent().unwrap()).unwrap();
    std::fs::write(&target, "an older report, to be overwritten").unwrap();
    let link = dir.path().join("leakcheck.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = cargo_leakcheck("seed", &["--json", link.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the symlink was replaced");
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    assert_seed_report(&std::fs::read_to_string(&target).unwrap(), &run);
}

#[test]
fn a_fifo_gets_the_report() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Held open for reading and writing (which does not block on Linux),
    // so the reader below never waits on a writer that does not come, and
    // sees the end of the data once this is closed after the run.
    let keep = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = cargo_leakcheck("seed", &["--json", fifo.to_str().unwrap()]);
    drop(keep);
    let json = reader.join().unwrap();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO was replaced"
    );
    assert_seed_report(&json, &run);
}

#[test]
fn a_missing_directory_is_one_line_and_exit_2() {
    let _serial = serial();
    let run = cargo_leakcheck("seed", &["--json", "/nonexistent-leakcheck-dir/r.json"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.only_stderr_line();
    assert!(
        line.starts_with("error: ") && line.contains("/nonexistent-leakcheck-dir/r.json"),
        "{}",
        run.stderr
    );
}
