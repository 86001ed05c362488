//! Cases where leakcheck used to give a wrong verdict without a word: a
//! full stack table, a small frame limit, a background thread's growth
//! landing in the tool's own pause, a body that stops or clears tracing, a
//! `harness = false` target with its own `main`, and two test names that
//! differ only in non-ASCII letters (fixture `tests/fixtures/degrade`).

use leakcheck_rt::report::{Report, SiteVerdict, TestReport, TestVerdict};
use leakcheck_tests::{Run, cargo_leakcheck, cargo_leakcheck_json, cargo_test, line_of, serial};

fn run_with_json(name: &str, args: &[&str]) -> (Run, Report) {
    let (run, text) = cargo_leakcheck_json("degrade", name, args);
    let report: Report = serde_json::from_str(&text).expect("a version-1 report");
    (run, report)
}

fn test<'a>(report: &'a Report, name: &str) -> &'a TestReport {
    report
        .tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is not reported: {:#?}", report.tests))
}

/// The (file, line) of the leaking site that retained the most.
fn worst_leak(t: &TestReport) -> (&str, u32) {
    let site = t
        .sites
        .iter()
        .find(|s| s.verdict == SiteVerdict::Leak)
        .unwrap_or_else(|| panic!("{} has no leaking site: {t:#?}", t.name));
    (site.file.as_str(), site.line)
}

fn lib_line(marker: &str) -> u32 {
    line_of("degrade", "src/lib.rs", marker)
}

#[test]
fn a_full_stack_table_is_warned_about_and_named_plainly() {
    let _serial = serial();
    let (run, report) = run_with_json("degrade-overflow", &["--test", "overflow"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let t = test(&report, "leak_after_the_stack_table_is_full");
    assert_eq!(t.verdict, TestVerdict::Leak, "{t:#?}");
    assert_eq!(
        worst_leak(t),
        ("<leakcheck: stack table full>", 0),
        "the leak is not charged to the plainly named overflow site: {t:#?}"
    );
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("stack table is full") && w.contains("262142")),
        "{t:#?}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("warning:") && l.contains("stack table is full")),
        "{}",
        run.stderr
    );

    // Under plain `cargo test`, the failure says it too.
    let run = cargo_test("degrade", &["--test", "overflow"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("warning: the stack table is full"),
        "{}",
        run.stdout
    );
}

#[test]
fn small_frames_background_threads_and_tracing_changes_get_their_verdict() {
    let _serial = serial();
    let (run, report) = run_with_json("degrade", &["--test", "degrade"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);

    // frames = 1 and frames = 3 still name the allocating line.
    let one = test(&report, "one_frame");
    assert_eq!(one.verdict, TestVerdict::Leak, "{one:#?}");
    assert_eq!(
        worst_leak(one),
        ("src/lib.rs", lib_line("LEAK: keep_block"))
    );
    let three = test(&report, "three_frames");
    assert_eq!(
        worst_leak(three),
        ("src/lib.rs", lib_line("LEAK: keep_other_block"))
    );

    // A thread that leaks steadily while the body waits is a leak, however
    // long the baseline took to symbolise.
    let background = test(&report, "background_thread_leak");
    assert_eq!(background.verdict, TestVerdict::Leak, "{background:#?}");
    assert_eq!(
        worst_leak(background),
        ("src/lib.rs", lib_line("LEAK: background"))
    );

    // A body that clears or stops tracing fails, saying so.
    for (name, says) in [
        ("body_clears_traces", "cleared the traces"),
        ("body_stops_tracing", "stopped tracing"),
    ] {
        let t = test(&report, name);
        assert_eq!(t.verdict, TestVerdict::Error, "{t:#?}");
        assert!(
            t.error.as_deref().is_some_and(|e| e.contains(says)),
            "{t:#?}"
        );
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains("FAILED") && l.contains(name) && l.contains(says)),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn under_cargo_test_the_same_tests_fail_for_the_same_reasons() {
    let _serial = serial();
    let run = cargo_test("degrade", &["--test", "degrade"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("test result: FAILED. 0 passed; 5 failed"),
        "{}",
        run.stdout
    );
    for (name, says) in [
        (
            "background_thread_leak",
            format!("src/lib.rs:{}", lib_line("LEAK: background")),
        ),
        (
            "one_frame",
            format!("src/lib.rs:{}", lib_line("LEAK: keep_block")),
        ),
        (
            "three_frames",
            format!("src/lib.rs:{}", lib_line("LEAK: keep_other_block")),
        ),
        ("body_clears_traces", "cleared the traces".to_owned()),
        ("body_stops_tracing", "stopped tracing".to_owned()),
    ] {
        let header = format!("---- {name} stdout ----");
        let at = run
            .stdout
            .find(&header)
            .unwrap_or_else(|| panic!("{name} did not fail:\n{}", run.stdout));
        let failure = &run.stdout[at + header.len()..];
        let failure = &failure[..failure.find("\n---- ").unwrap_or(failure.len())];
        assert!(
            failure.contains(&says),
            "{name}: no {says:?} in:\n{failure}"
        );
    }
}

#[test]
fn harness_false_mains_run_as_cargo_test_runs_them() {
    let _serial = serial();
    let run = cargo_test(
        "degrade",
        &["--test", "custom_main", "--test", "strict_main"],
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);

    // They get leakcheck's runtime from the build: checked, as runners of
    // their own.
    let run = cargo_leakcheck(
        "degrade",
        &["--test", "custom_main", "--test", "strict_main"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("(2 binaries checked)"),
        "{}",
        run.stderr
    );

    // Without it, neither installs leakcheck: a run that measured nothing
    // is not a green run.
    let run = cargo_leakcheck(
        "degrade",
        &[
            "--no-inject",
            "--test",
            "custom_main",
            "--test",
            "strict_main",
        ],
    );
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().last().unwrap_or_default(),
        "error: no binary was checked: 2 binaries ran, none measured by leakcheck; \
         pass --no-tests=warn (or pass) if that is expected"
    );
    let heading = run
        .stderr
        .lines()
        .position(|l| l.starts_with("Own `main`"))
        .unwrap_or_else(|| panic!("no note on the own mains:\n{}", run.stderr));
    let names = run.stderr.lines().nth(heading + 1).unwrap_or("");
    assert!(
        names.contains("custom_main") && names.contains("strict_main"),
        "{}",
        run.stderr
    );
}

#[test]
fn names_that_differ_only_in_non_ascii_letters_keep_their_own_reports() {
    let _serial = serial();
    let (run, report) = run_with_json("degrade-names", &["--test", "names"]);
    // über_leak ends its process before reporting: that is an error, and
    // öber_leak's report is not taken for its own.
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    let ober = test(&report, "öber_leak");
    assert_eq!(
        worst_leak(ober),
        ("src/lib.rs", lib_line("LEAK: keep_block"))
    );
    let uber = test(&report, "über_leak");
    assert_eq!(uber.verdict, TestVerdict::Error, "{uber:#?}");
    assert!(uber.sites.is_empty(), "{uber:#?}");
    assert!(
        uber.error
            .as_deref()
            .is_some_and(|e| e.contains("`über_leak` exited the process with status 0")),
        "{uber:#?}"
    );
}
