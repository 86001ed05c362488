//! The real `cargo leakcheck` binary on fixture crates: exit codes, the
//! JSON report, session growth, crashes, bad input.

use leakcheck_rt::report::{Report, SessionVerdict, SiteVerdict, TestVerdict};
use leakcheck_tests::{
    Run, cargo_leakcheck, cargo_leakcheck_json, fixture_target_dir, line_of, sanitize, serial,
};

fn run_with_json(fixture: &str, name: &str, args: &[&str]) -> (Run, Report) {
    let (run, text) = cargo_leakcheck_json(fixture, name, args);
    let report: Report = serde_json::from_str(&text).expect("a version-1 report");
    assert_eq!(report.version, 1);
    (run, report)
}

#[test]
fn session_growth_names_the_registry_line_and_its_tests() {
    let _serial = serial();
    let (run, report) = run_with_json("session", "session", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(report.session.verdict, SessionVerdict::Growth);
    let line = line_of("session", "src/lib.rs", "SESSION GROWTH");
    let sites: Vec<_> = report
        .session
        .sites
        .iter()
        .filter(|s| s.file == "src/lib.rs" && s.line == line)
        .collect();
    let suite = sites
        .iter()
        .find(|s| s.binary == "registry::suite")
        .unwrap_or_else(|| {
            panic!(
                "no growth at src/lib.rs:{line} in registry::suite: {:#?}",
                report.session
            )
        });
    assert!(suite.growth);
    assert!(suite.size_diff >= 12 * 4096, "{suite:?}");
    assert_eq!(suite.count_diff, 12, "{suite:?}");
    let expected: Vec<String> = (0..12).map(|i| format!("plain_{i:02}")).collect();
    assert_eq!(suite.tests, expected);

    // The harness binary measures each test exactly.
    let exact = sites
        .iter()
        .find(|s| s.binary == "registry::exact")
        .unwrap_or_else(|| panic!("no growth in the harness binary: {:#?}", report.session));
    assert!(exact.growth);
    assert_eq!(exact.count_diff, 4);
    assert_eq!(
        exact.tests,
        ["harness_00", "harness_01", "harness_02", "harness_03"]
    );

    // A static filled once by one test is a one-time cost, not growth.
    let once = line_of("session", "src/lib.rs", "ONE TIME");
    let codecs = report
        .session
        .sites
        .iter()
        .find(|s| s.line == once && s.binary == "registry::suite")
        .unwrap_or_else(|| panic!("the one-time cost is not listed: {:#?}", report.session));
    assert!(!codecs.growth);
    assert_eq!(codecs.tests, ["codecs_are_named"]);

    // Every leak test of the suite is clean.
    let leak_tests: Vec<_> = report
        .tests
        .iter()
        .filter(|t| t.binary == "registry::suite")
        .collect();
    assert_eq!(leak_tests.len(), 3, "{:#?}", report.tests);
    assert!(
        leak_tests.iter().all(|t| t.verdict == TestVerdict::Clean),
        "{leak_tests:#?}"
    );
}

#[test]
fn the_human_report_of_a_mixed_run() {
    let _serial = serial();
    let run = cargo_leakcheck("session", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    insta::assert_snapshot!("session_report", sanitize(&run.stderr));
}

#[test]
fn plateaus_pass() {
    let _serial = serial();
    let (run, report) = run_with_json("clean", "clean", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(report.tests.len(), 5, "{:#?}", report.tests);
    assert!(
        report.tests.iter().all(|t| t.verdict == TestVerdict::Clean),
        "{:#?}",
        report.tests
    );
    assert_eq!(report.session.verdict, SessionVerdict::Clean);
}

#[test]
fn the_seed_leak_fails_with_its_rate() {
    let _serial = serial();
    let (run, report) = run_with_json("seed", "seed", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let test = report
        .tests
        .iter()
        .find(|t| t.name == "handle_request_retains_every_payload")
        .expect("the leak test is reported");
    // nextest's binary ID: `package::target` for an integration test.
    assert_eq!(test.binary, "fixture::leak");
    assert_eq!(test.verdict, TestVerdict::Leak);
    let site = &test.sites[0];
    assert_eq!(site.file, "src/lib.rs");
    assert_eq!(site.line, line_of("seed", "src/lib.rs", "vec![0u8; 1024]"));
    assert_eq!(site.function, "fixture::handle_request");
    assert_eq!(site.verdict, SiteVerdict::Leak);
    assert!((1000.0..1100.0).contains(&site.bytes_per_iter), "{site:?}");
    assert!((site.blocks_per_iter - 1.0).abs() < 0.01, "{site:?}");
    let clean = report
        .tests
        .iter()
        .find(|t| t.name == "parsing_an_id_is_clean")
        .unwrap();
    assert_eq!(clean.verdict, TestVerdict::Clean);
    // The leak test that leaked is a failed test, as nextest counts it.
    let summary = run
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("Summary ["))
        .unwrap_or_else(|| panic!("no summary:\n{}", run.stderr));
    assert!(
        summary.ends_with(
            "s] 2 tests run: 1 passed, 1 failed; 2 leak tests measured alone; 2 binaries"
        ),
        "{summary}"
    );
    // Each entry's status tells a new leak from an accepted one: the exit
    // code follows from the report alone.
    let raw: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_target_dir().join("seed.json")).unwrap(),
    )
    .unwrap();
    let statuses: Vec<(&str, &str)> = raw["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("handle_request_retains_every_payload", "new"),
            ("parsing_an_id_is_clean", "clean")
        ]
    );
    assert!(raw.get("partition").is_none(), "{raw}");
    insta::assert_snapshot!("seed_report", sanitize(&run.stderr));
}

#[test]
fn crashing_hanging_and_exiting_binaries_are_errors_and_the_others_are_reported() {
    let _serial = serial();
    let (run, report) = run_with_json("crashy", "crashy", &["--timeout", "10"]);
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    for (binary, reason) in [
        ("crashy::b_aborts", "SIGABRT"),
        ("crashy::c_hangs", "timed out"),
        ("crashy::d_segfaults", "SIGSEGV"),
        (
            "crashy::e_exits_early",
            "test `a_calls_exit` exited the process with status 0",
        ),
        // Its `--list` aborts: a fault before its session runs.
        (
            "crashy::f_list_aborts",
            "failed to list its tests: `--list` killed by signal 6 (SIGABRT: aborted)",
        ),
    ] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(binary) && l.contains(reason)),
            "{binary} is not reported with {reason:?}:\n{}",
            run.stderr
        );
        assert!(
            report
                .tests
                .iter()
                .any(|t| t.binary == binary && t.verdict == TestVerdict::Error),
            "{binary}: {:#?}",
            report.tests
        );
    }
    let fine = report
        .tests
        .iter()
        .find(|t| t.binary == "crashy::a_fine" && t.name == "fine_is_clean")
        .unwrap_or_else(|| panic!("the other binary is not reported: {:#?}", report.tests));
    assert_eq!(fine.verdict, TestVerdict::Clean);
    insta::assert_snapshot!("crashy_report", sanitize(&run.stderr));
}

#[test]
fn bad_flags_and_missing_manifests_exit_2_with_one_line() {
    let _serial = serial();
    let run = cargo_leakcheck("seed", &["--no-such-flag"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);

    let run = cargo_leakcheck("seed", &["--manifest-path", "/nonexistent/Cargo.toml"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.only_stderr_line();
    assert!(line.contains("/nonexistent/Cargo.toml"), "{}", run.stderr);
}
