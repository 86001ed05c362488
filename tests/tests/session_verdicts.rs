//! Session growth against what is not growth: garbage a collector frees a
//! few tests late, a test that clears the environment, an optimised build;
//! and a static filled by whichever test was quickest on libtest's threads.

use leakcheck_rt::report::{Report, SessionSite, SessionVerdict, SiteVerdict, TestVerdict};
use leakcheck_tests::{
    Run, cargo_leakcheck_json, cargo_leakcheck_with, fixture_target_dir, line_of, serial,
};

fn run_with_json(fixture: &str, name: &str, args: &[&str]) -> (Run, Report) {
    let (run, text) = cargo_leakcheck_json(fixture, name, args);
    let report: Report = serde_json::from_str(&text).expect("a version-1 report");
    (run, report)
}

fn growth_sites(report: &Report) -> Vec<&SessionSite> {
    report.session.sites.iter().filter(|s| s.growth).collect()
}

/// `cargo leakcheck -v --json` on the `firstfill` fixture with libtest
/// on `threads` threads: the run, its report, and the arguments of each
/// session run of its `suite` binary.
fn firstfill(threads: &str) -> (Run, Report, Vec<String>) {
    let json = fixture_target_dir().join("firstfill.json");
    let _ = std::fs::create_dir_all(fixture_target_dir());
    let _ = std::fs::remove_file(&json);
    let json_arg = json.display().to_string();
    let run = cargo_leakcheck_with(
        "firstfill",
        &["-v", "--json", &json_arg],
        &[("RUST_TEST_THREADS", threads)],
    );
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", run.stderr));
    let report: Report = serde_json::from_str(&text).expect("a version-1 report");
    // `     Running `<target>/deps/suite-<hash> ARGS``, less the lists.
    let sessions = run
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("Running `")?.strip_suffix('`'))
        .filter(|l| l.contains("/deps/suite-") && !l.contains("--list"))
        .map(|l| l.split_once(' ').map_or("", |(_, args)| args).to_owned())
        .collect();
    (run, report, sessions)
}

/// The report's session site at `file:line`.
fn site_at<'a>(report: &'a Report, file: &str, line: u32) -> &'a SessionSite {
    report
        .session
        .sites
        .iter()
        .find(|s| s.file == file && s.line == line)
        .unwrap_or_else(|| panic!("no site at {file}:{line}: {:#?}", report.session))
}

/// The frames a session named are kept beside the binary's build for the
/// next process of that binary, which reads them instead of its debug info:
/// a frame changed in the kept file shows in the next run's report, and with
/// the files gone the debug info names it again.
#[test]
fn the_next_run_of_a_binary_reads_the_frames_its_last_run_named() {
    let _serial = serial();
    let filled = line_of("firstfill", "src/lib.rs", "FILLED ONCE");
    let frames = fixture_target_dir().join("leakcheck/debug/leakcheck-frames");
    let _ = std::fs::remove_dir_all(&frames);
    let (run, report, _) = firstfill("1");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        site_at(&report, "src/lib.rs", filled).tests,
        ["a_slow_first"]
    );

    // Move the kept frame of the filling line elsewhere.
    let moved = filled + 1000;
    let mut edited = 0;
    for entry in std::fs::read_dir(&frames).expect("the session kept its frames") {
        let path = entry.unwrap().path();
        let mut file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for at in file["frames"].as_array_mut().unwrap() {
            for frame in at[1].as_array_mut().unwrap() {
                if frame["file"] == "src/lib.rs" && frame["line"] == filled {
                    frame["line"] = moved.into();
                    edited += 1;
                }
            }
        }
        std::fs::write(&path, file.to_string()).unwrap();
    }
    assert!(edited > 0, "no kept frame at src/lib.rs:{filled}");
    let (run, report, _) = firstfill("1");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        site_at(&report, "src/lib.rs", moved).tests,
        ["a_slow_first"]
    );

    std::fs::remove_dir_all(&frames).unwrap();
    let (run, report, _) = firstfill("1");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        site_at(&report, "src/lib.rs", filled).tests,
        ["a_slow_first"]
    );
}

#[test]
fn a_static_a_quicker_test_filled_first_is_charged_to_the_first_test_by_name() {
    let _serial = serial();
    let filled = line_of("firstfill", "src/lib.rs", "FILLED ONCE");
    // On four threads, b_quick builds the table while a_slow_first sleeps:
    // the two run again one at a time, and nothing else does.
    let (run, report, sessions) = firstfill("4");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        sessions,
        ["", "a_slow_first b_quick --exact --test-threads=1"],
        "{}",
        run.stderr
    );
    let site = site_at(&report, "src/lib.rs", filled);
    assert_eq!(site.tests, ["a_slow_first"]);
    assert!(!site.growth);
    assert_eq!(site.count_diff, 1);
    // On one thread the first run is in name order already.
    let (run, report, sessions) = firstfill("1");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(sessions, [""], "{}", run.stderr);
    let site = site_at(&report, "src/lib.rs", filled);
    assert_eq!(site.tests, ["a_slow_first"]);
}

#[test]
fn garbage_of_the_last_tests_on_crossbeam_epoch_is_not_session_growth() {
    let _serial = serial();
    let (run, report) = run_with_json("deferred", "deferred", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(report.session.verdict, SessionVerdict::Clean);
    assert_eq!(growth_sites(&report), Vec::<&SessionSite>::new());
    assert!(run.stderr.contains("no session growth"), "{}", run.stderr);
    // What the collector had not freed yet is still listed: left by as many
    // tests as session growth needs, but only by the most recent of the 16
    // tests, which all pin.
    let site = report
        .session
        .sites
        .iter()
        .find(|s| s.file == "crossbeam-epoch-0.9.21/src/atomic.rs")
        .unwrap_or_else(|| panic!("nothing left in crossbeam-epoch: {:#?}", report.session));
    assert!(site.tests.len() >= 3, "{site:?}");
    assert!(
        site.tests.iter().all(|t| t.as_str() >= "steal_08"),
        "{site:?}"
    );
}

#[test]
fn a_test_that_clears_the_environment_leaves_the_session_on() {
    let _serial = serial();
    let (run, report) = run_with_json("envclear", "envclear", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains("Not instrumented"), "{}", run.stderr);

    // The leak test was found by the session and measured.
    let leak = line_of("envclear", "src/lib.rs", "// LEAK");
    let test = report
        .tests
        .iter()
        .find(|t| t.name == "b_requests_leak")
        .unwrap_or_else(|| panic!("the leak test did not run: {:#?}", report.tests));
    assert_eq!(test.verdict, TestVerdict::Leak, "{test:#?}");
    assert!(
        test.sites
            .iter()
            .any(|s| s.verdict == SiteVerdict::Leak && s.file == "src/lib.rs" && s.line == leak),
        "{test:#?}"
    );

    // The registry the tests after it fill is session growth, at the line
    // relative to the workspace root.
    let growth = line_of("envclear", "src/lib.rs", "SESSION GROWTH");
    assert_eq!(report.session.verdict, SessionVerdict::Growth);
    let sites = growth_sites(&report);
    assert_eq!(sites.len(), 1, "{:#?}", report.session);
    assert_eq!(
        (sites[0].file.as_str(), sites[0].line),
        ("src/lib.rs", growth)
    );
    assert_eq!(
        sites[0].tests,
        ["plain_00", "plain_01", "plain_02", "plain_03"]
    );
}

#[test]
fn release_builds_name_the_same_session_growth_as_debug_builds() {
    let _serial = serial();
    let (debug_run, debug) = run_with_json("optimised", "optimised-debug", &[]);
    let (release_run, release) = run_with_json("optimised", "optimised-release", &["--release"]);
    assert_eq!(debug_run.code, Some(1), "{}", debug_run.stderr);
    assert_eq!(release_run.code, Some(1), "{}", release_run.stderr);
    let line = line_of("optimised", "src/lib.rs", "SESSION GROWTH");
    let named = |report: &Report| -> Vec<(String, u32, Vec<String>, i64)> {
        growth_sites(report)
            .into_iter()
            .map(|s| (s.file.clone(), s.line, s.tests.clone(), s.count_diff))
            .collect()
    };
    let expected: Vec<String> = (0..8).map(|i| format!("plugin_{i:02}")).collect();
    assert_eq!(
        named(&debug),
        [("src/lib.rs".to_owned(), line, expected, 8)],
        "{}",
        debug_run.stderr
    );
    assert_eq!(named(&release), named(&debug), "{}", release_run.stderr);
}
