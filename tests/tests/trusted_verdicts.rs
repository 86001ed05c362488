//! Verdicts outside the happy path of the fixtures: std's backtrace cache,
//! test frameworks' registries, accepted session growth, a fixed leak with
//! a stale snapshot, and environment variables that must not change a
//! verdict.

use std::path::Path;

use leakcheck_rt::report::{Report, SessionVerdict, TestVerdict};
use leakcheck_tests::{
    Run, cargo_leakcheck_bin, clean_command, fixture, fixture_target_dir, is_status_line, line_of,
    scratch_copy, serial,
};

/// `cargo leakcheck ARGS --json …` in `dir`, with `env` set.
fn leakcheck_in(dir: &Path, name: &str, env: &[(&str, &str)], args: &[&str]) -> (Run, Report) {
    let json = fixture_target_dir().join(format!("{name}.json"));
    let _ = std::fs::create_dir_all(fixture_target_dir());
    let _ = std::fs::remove_file(&json);
    let mut cmd = clean_command(cargo_leakcheck_bin(), dir);
    cmd.arg("leakcheck").arg("--json").arg(&json).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().expect("cargo-leakcheck runs").into();
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}\n{}", run.stdout, run.stderr));
    (
        run,
        serde_json::from_str(&text).expect("a version-1 report"),
    )
}

#[test]
fn std_backtrace_cache_is_never_session_growth() {
    let _serial = serial();
    let (run, report) = leakcheck_in(
        &fixture("frameworks"),
        "backtraces",
        &[("RUST_BACKTRACE", "1")],
        &["--test", "backtraces"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(report.session.verdict, SessionVerdict::Clean);
    // Not growth, and not a one-time cost charged to a test either.
    assert!(
        report.session.sites.is_empty(),
        "{:#?}",
        report.session.sites
    );
    for text in ["Session growth", "One-time costs", "_Unwind_Backtrace"] {
        assert!(!run.stderr.contains(text), "{text}:\n{}", run.stderr);
    }
    assert!(
        run.stderr
            .contains("leakcheck: no session growth (1 binary checked)"),
        "{}",
        run.stderr
    );
}

#[test]
fn should_panic_leak_tests_pass_and_fail_as_under_cargo_test() {
    let _serial = serial();
    let passing = ["panics_with_boom", "panics_in_the_loop"];
    let run = leakcheck_tests::cargo_test("frameworks", &["--test", "should_panic"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    for test in passing {
        assert!(
            run.stdout
                .contains(&format!("test {test} - should panic ... ok")),
            "{test}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("test panics_with_another_message - should panic ... FAILED"),
        "{}",
        run.stdout
    );

    let (run, report) = leakcheck_in(
        &fixture("frameworks"),
        "should_panic",
        &[],
        &["--test", "should_panic"],
    );
    let verdict = |name: &str| {
        report
            .tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} is not reported: {:#?}", report.tests))
    };
    for test in passing {
        let t = verdict(test);
        assert_eq!(t.verdict, TestVerdict::Clean, "{t:#?}\n{}", run.stderr);
        assert_eq!(
            t.warnings,
            ["the test panicked as its `#[should_panic]` expects; its allocations were not judged"],
            "{t:#?}"
        );
    }
    // The wrong panic fails the test, as under `cargo test`: a failed
    // test, not a fault of the run.
    let t = verdict("panics_with_another_message");
    assert_eq!(t.verdict, TestVerdict::Error, "{t:#?}");
    assert!(
        t.error.as_deref().is_some_and(|e| e.contains("bang")),
        "{t:#?}"
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
}

#[test]
fn insta_registries_are_not_session_growth() {
    let _serial = serial();
    let (run, report) = leakcheck_in(
        &fixture("frameworks"),
        "snapshots",
        &[],
        &["--test", "snapshots"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(report.session.verdict, SessionVerdict::Clean);
    let insta: Vec<_> = report
        .session
        .sites
        .iter()
        .filter(|s| s.file.starts_with("insta-1.49.0/src/runtime.rs"))
        .collect();
    assert!(
        insta.iter().any(|s| s.growth && s.tests.len() == 3),
        "{:#?}",
        report.session.sites
    );
    assert!(
        insta
            .iter()
            .all(|s| s.known.as_deref().is_some_and(|k| k.starts_with("insta's"))),
        "{insta:#?}"
    );
    assert!(!run.stderr.contains("Session growth"), "{}", run.stderr);
}

#[test]
fn accepted_session_growth_round_trip() {
    let _serial = serial();
    let dir = scratch_copy("frameworks");
    let accepted = dir.join(".config/leakcheck-accepted.toml");
    let line = line_of("frameworks", "src/lib.rs", "ACCEPTED GROWTH");
    let args = ["--test", "registry"];

    let (run, report) = leakcheck_in(&dir, "accept-0", &[], &args);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("--accept"), "{}", run.stderr);

    // `--accept` lists the growing site, and nothing that is not growth.
    let (run, report_accepted) =
        leakcheck_in(&dir, "accept-1", &[], &["--accept", args[0], args[1]]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&accepted).expect("--accept writes the file");
    let entries: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        entries.join("\n"),
        format!(
            "\n[[session.accept]]\nbinary = \"frameworks::registry\"\nfile = \"src/lib.rs\"\nline = {line}\n\
             function = \"frameworks::register_plugin\""
        ),
        "{text}"
    );
    assert_eq!(report_accepted.session.verdict, SessionVerdict::Clean);
    assert_eq!(report.session.verdict, SessionVerdict::Growth);

    // The next run (CI, --check) passes and says why.
    let (run, report) = leakcheck_in(&dir, "accept-2", &[], &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let site = report
        .session
        .sites
        .iter()
        .find(|s| s.line == line)
        .unwrap_or_else(|| panic!("{:#?}", report.session));
    assert!(site.growth && site.accepted, "{site:?}");
    assert!(
        run.stderr.contains("Accepted session growth"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("accepted session growth at 1 site (1 binary checked)"),
        "{}",
        run.stderr
    );

    // The site is gone: the entry is stale, and the run says so.
    let tests = dir.join("tests/registry.rs");
    let fixed = std::fs::read_to_string(&tests)
        .unwrap()
        .replace("frameworks::register_plugin();", "");
    std::fs::write(&tests, fixed).unwrap();
    let (run, _) = leakcheck_in(&dir, "accept-3", &[], &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let note = format!(
        "warning: accepted session growth at src/lib.rs:{line} in frameworks::registry no longer grows: \
         remove its entry from .config/leakcheck-accepted.toml"
    );
    assert!(run.stderr.contains(&note), "{}", run.stderr);
    // ...and `--accept` removes the file that now accepts nothing.
    let (run, _) = leakcheck_in(&dir, "accept-4", &[], &["--accept", args[0], args[1]]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!accepted.exists());

    // A broken file is one line and exit code 2, before anything is built.
    std::fs::create_dir_all(accepted.parent().unwrap()).unwrap();
    std::fs::write(&accepted, "[[session.accept]]\nbinary = \"registry\"\n").unwrap();
    let run: Run = clean_command(cargo_leakcheck_bin(), &dir)
        .args(["leakcheck", "--test", "registry"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.only_stderr_line();
    assert!(
        line.contains(".config/leakcheck-accepted.toml: line 1: missing field `file`"),
        "{}",
        run.stderr
    );

    // An entry under the binary's name from before binaries were named as
    // nextest names them (the target's name alone) would accept nothing:
    // it is one line naming the key to write, exit code 2.
    std::fs::write(
        &accepted,
        "[[session.accept]]\nbinary = \"registry\"\nfile = \"src/lib.rs\"\nline = 3\n",
    )
    .unwrap();
    let run: Run = clean_command(cargo_leakcheck_bin(), &dir)
        .args(["leakcheck", "--test", "registry"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.only_stderr_line();
    assert!(
        line.ends_with(
            ".config/leakcheck-accepted.toml: the entry for src/lib.rs:3 names binary `registry`, \
             which is now named `binary = \"frameworks::registry\"` (binaries are named as \
             nextest names them): rename it"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_fixed_leak_names_its_stale_snapshot_in_the_normal_report() {
    let _serial = serial();
    let (run, report) = leakcheck_in(&fixture("frameworks"), "fixed", &[], &["--test", "fixed"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let test = &report.tests[0];
    assert_eq!(test.verdict, TestVerdict::Error, "{test:#?}");
    let expected = "no longer leaks, but its accepted leak snapshot \
                    tests/snapshots/fixed__fixed_cache_leaks.snap still records a leak: \
                    delete the snapshot, or re-accept the report with `cargo leakcheck --accept`";
    assert_eq!(test.error.as_deref(), Some(expected));
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("fixed_cache") && !is_status_line(l))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(line.ends_with(expected), "{}", run.stderr);
    assert!(!run.stderr.contains("snapshot assertion"), "{}", run.stderr);
}

#[test]
fn insta_force_pass_does_not_accept_a_leak() {
    let _serial = serial();
    let env = [("INSTA_FORCE_PASS", "1"), ("CI", "true")];
    let (run, report) = leakcheck_in(&fixture("seed"), "force-pass", &env, &["--check"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let leak = report
        .tests
        .iter()
        .find(|t| t.name == "handle_request_retains_every_payload")
        .unwrap();
    assert_eq!(leak.verdict, TestVerdict::Leak);
    assert!(run.stderr.contains("1 new leak"), "{}", run.stderr);
    assert!(!run.stderr.contains("accepted leak"), "{}", run.stderr);

    // Plain `cargo test` too.
    let run: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture("seed"),
    )
    .env("INSTA_FORCE_PASS", "1")
    .args(["test", "--test", "leak"])
    .output()
    .unwrap()
    .into();
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("test handle_request_retains_every_payload ... FAILED"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no accepted snapshot at"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_inherited_nextest_mode_still_isolates_leak_tests() {
    let _serial = serial();
    // What a `cargo test` started from inside a nextest run inherits.
    let run: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture("clean"),
    )
    .env("NEXTEST_EXECUTION_MODE", "process-per-test")
    .env("NEXTEST_TEST_NAME", "outer::test")
    .args(["test", "--test", "plateaus", "--", "--test-threads=4"])
    .output()
    .unwrap()
    .into();
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("test result: ok. 7 passed"),
        "{}",
        run.stdout
    );
}
