//! What a run's exit code and report files say when the run checked
//! nothing, when a report cannot be written, and when the command line
//! names report paths or words that cannot be what the user meant.

use leakcheck_tests::{cargo_leakcheck, serial};

#[test]
fn a_filter_that_matches_no_test_is_not_a_green_run() {
    let _serial = serial();
    let run = cargo_leakcheck("clean", &["no_test_is_named_this"]);
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "error: no tests to run: no test name contains `no_test_is_named_this`; \
         pass --no-tests=warn (or pass) if that is expected"
    );
    let run = cargo_leakcheck("clean", &["no_test_is_named_this", "--no-tests=warn"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.lines().any(|l| l
            == "warning: no tests to run: no test name contains `no_test_is_named_this`"),
        "{}",
        run.stderr
    );
    let run = cargo_leakcheck("clean", &["no_test_is_named_this", "--no-tests=pass"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("no tests to run"), "{}", run.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn a_report_that_cannot_be_written_does_not_stop_the_others() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let html = dir.path().join("report.html");
    // /dev/full: every write fails with ENOSPC, as on a full disk.
    let run = cargo_leakcheck(
        "clean",
        &[
            "bounded_cache",
            "--json",
            "/dev/full",
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.lines().any(|l| l.starts_with(
            "error: failed to write the JSON report to `/dev/full`: No space left on device"
        )),
        "{}",
        run.stderr
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert!(xml.contains("bounded_cache"), "{xml}");
    assert!(html.is_file(), "the HTML report is written");
}

#[test]
fn report_paths_that_cannot_be_right_are_refused_before_the_build() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let run = cargo_leakcheck("clean", &["--json", dir_arg]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        run.only_stderr_line(),
        format!("error: cannot write the JSON report to `{dir_arg}`: it is a directory")
    );
    let same = dir.path().join("report.out");
    let same = same.to_str().unwrap();
    let run = cargo_leakcheck("clean", &["--json", same, "--junit", same]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        run.only_stderr_line(),
        format!(
            "error: --json and --junit name the same file `{same}`: each report needs a file \
             of its own"
        )
    );
    #[cfg(unix)]
    {
        let link = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("/nonexistent-dir-for-leakcheck/r.json", &link).unwrap();
        let run = cargo_leakcheck("clean", &["--html", link.to_str().unwrap()]);
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        assert!(
            run.only_stderr_line()
                .ends_with("whose directory does not exist"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn help_is_the_help_and_list_is_no_test_filter() {
    let run = cargo_leakcheck("clean", &["help"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("Exit codes:"), "{}", run.stdout);
    let run = cargo_leakcheck("clean", &["list"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.only_stderr_line()
            .ends_with("write `cargo leakcheck --filter list`"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_binary_run_as_itself_prints_its_version() {
    let out = std::process::Command::new(leakcheck_tests::cargo_leakcheck_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cargo-leakcheck 0.1.0\n"
    );
}
