//! The `service` fixture: state built once (`LeakLoop`) and `async fn`
//! leak tests on tokio, under `cargo test`, `cargo nextest run` and
//! `cargo leakcheck`. Every leak fails at its line; every clean case
//! passes, again and again.

use leakcheck_rt::report::{Report, TestVerdict};
use leakcheck_tests::{
    Run, cargo_leakcheck, cargo_test, failure_of, fixture_target_dir, line_of, serial,
};

/// The leak tests of `tests/service.rs` that leak.
const LEAKS: [&str; 5] = [
    "cache_keeps_every_request",
    "async_handler_appends_to_a_log",
    "tasks_that_never_finish",
    "pool_queries_register_listeners",
    "worker_tasks_file_results_into_a_registry",
];

/// ...and those that do not.
const CLEAN: [&str; 5] = [
    "bounded_cache_is_clean",
    "setup_and_teardown_are_not_measured",
    "spawn_and_join_is_clean",
    "pool_pings_are_clean",
    "joined_worker_tasks_are_clean",
];

/// The clean tests that run on tokio.
const CLEAN_ASYNC: [&str; 3] = [
    "spawn_and_join_is_clean",
    "pool_pings_are_clean",
    "joined_worker_tasks_are_clean",
];

/// `src/lib.rs:N` of the line marked `LEAK: test`.
fn leak_site(test: &str) -> String {
    let line = line_of("service", "src/lib.rs", &format!("LEAK: {test}"));
    format!("src/lib.rs:{line}")
}

#[test]
fn under_cargo_test_every_leak_fails_at_its_line_and_the_rest_pass() {
    let _serial = serial();
    let run = cargo_test("service", &["--test", "service"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    for test in LEAKS {
        let failure = failure_of(&run.stdout, test)
            .unwrap_or_else(|| panic!("{test} did not fail:\n{}", run.stdout));
        let site = leak_site(test);
        let row = failure
            .lines()
            .find(|l| l.trim_start().starts_with('+') && l.contains(&format!("{site} ")))
            .unwrap_or_else(|| panic!("{test}: no row for {site}:\n{failure}"));
        assert!(row.contains("B/iter"), "{test}: {row}");
    }
    for test in CLEAN {
        assert!(
            run.stdout.contains(&format!("test {test} ... ok")),
            "{test} did not pass:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("test result: FAILED. 5 passed; 5 failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_task_that_never_finishes_is_charged_to_the_spawn_and_to_its_own_allocation() {
    let _serial = serial();
    let run = cargo_test("service", &["--test", "service", "tasks_that_never_finish"]);
    let failure = failure_of(&run.stdout, "tasks_that_never_finish")
        .unwrap_or_else(|| panic!("no failure:\n{}\n{}", run.stdout, run.stderr));
    // The task itself, allocated inside tokio, 1 block per call, shown
    // with the line that spawned it...
    let spawn = line_of("service", "src/lib.rs", "CALLER: tasks_that_never_finish");
    let row = failure
        .lines()
        .find(|l| l.trim_start().starts_with('+') && l.contains("tokio-1.54.1/src/runtime/task/"))
        .unwrap_or_else(|| panic!("no row for tokio's task:\n{failure}"));
    assert!(row.contains("1.00 blocks/iter"), "{row}");
    assert!(
        row.ends_with(&format!("called from src/lib.rs:{spawn}")),
        "{row}"
    );
    // ...and the request it holds, at the user's line.
    assert!(
        failure.contains(&leak_site("tasks_that_never_finish")),
        "{failure}"
    );
}

#[test]
fn clean_async_cases_pass_in_repeated_runs() {
    let _serial = serial();
    let mut args = vec!["--test", "service", "--"];
    args.extend(CLEAN_ASYNC);
    leakcheck_tests::passes_in_repeated_runs("service", &args, 3);
}

#[test]
fn misusing_the_loop_fails_with_what_to_do_instead() {
    let _serial = serial();
    let run = cargo_test("service", &["--test", "misuse"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    for (test, message) in [
        ("never_calls_iter", "never called `lt.iter(|i| ...)`"),
        (
            "calls_iter_twice",
            "`LeakLoop::iter` was called a second time",
        ),
        (
            "never_calls_iter_async",
            "never called `lt.iter_async(async |i| ...).await`",
        ),
        (
            "calls_iter_async_twice",
            "`LeakLoop::iter_async` was called a second time",
        ),
        (
            "calls_iter_in_an_async_test",
            "must call `lt.iter_async(async |i| ...).await`, not `lt.iter`",
        ),
    ] {
        let failure = failure_of(&run.stdout, test)
            .unwrap_or_else(|| panic!("{test} did not fail:\n{}", run.stdout));
        assert!(
            failure.contains(&format!("{test}: ")) && failure.contains(message),
            "{test}: {message:?} not in\n{failure}"
        );
    }
    assert!(
        run.stdout
            .contains("test result: FAILED. 0 passed; 5 failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn under_nextest_both_forms_measure_in_place() {
    let _serial = serial();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let fixture = leakcheck_tests::fixture("service");
    let nextest = leakcheck_tests::clean_command(&cargo, &fixture)
        .args(["nextest", "--version"])
        .output();
    if !nextest.is_ok_and(|o| o.status.success()) {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let run: Run = leakcheck_tests::clean_command(&cargo, &fixture)
        .args(["nextest", "run", "--no-fail-fast", "--test", "service"])
        .output()
        .expect("cargo nextest runs")
        .into();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(100), "{all}");
    for test in LEAKS {
        assert!(
            all.lines()
                .any(|l| l.contains("FAIL") && l.ends_with(&format!("service {test}"))),
            "{test} did not fail:\n{all}"
        );
        assert!(
            all.contains(&format!("{} ", leak_site(test))),
            "{test}:\n{all}"
        );
    }
    for test in CLEAN {
        assert!(
            all.lines()
                .any(|l| l.contains("PASS") && l.ends_with(&format!("service {test}"))),
            "{test} did not pass:\n{all}"
        );
    }
}

#[test]
fn cargo_leakcheck_reports_each_leak_at_its_line() {
    let _serial = serial();
    let json = fixture_target_dir().join("service.json");
    let _ = std::fs::create_dir_all(fixture_target_dir());
    let _ = std::fs::remove_file(&json);
    let json_arg = json.display().to_string();
    let run = cargo_leakcheck("service", &["--json", &json_arg, "--test", "service"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", run.stderr));
    let report: Report = serde_json::from_str(&text).expect("a version-1 report");
    let verdict = |name: &str| {
        report
            .tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} is not reported: {:#?}", report.tests))
    };
    for test in LEAKS {
        let t = verdict(test);
        assert_eq!(t.verdict, TestVerdict::Leak, "{t:#?}");
        let site = leak_site(test);
        assert!(
            t.sites
                .iter()
                .any(|s| format!("{}:{}", s.file, s.line) == site),
            "{test}: {site} not among {:#?}",
            t.sites
        );
    }
    for test in CLEAN {
        assert_eq!(verdict(test).verdict, TestVerdict::Clean, "{test}");
    }
    // A site inside tokio names the workspace line that called into it,
    // in the JSON and in the summary line.
    let spawn = line_of("service", "src/lib.rs", "CALLER: tasks_that_never_finish");
    let task = verdict("tasks_that_never_finish")
        .sites
        .iter()
        .find(|s| s.file.starts_with("tokio-1.54.1/"))
        .expect("the task's own allocation is a site");
    let caller = task.caller.as_ref().expect("a caller in the workspace");
    assert_eq!((caller.file.as_str(), caller.line), ("src/lib.rs", spawn));
    assert_eq!(caller.function, "service::spawn_stuck");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("tokio-1.54.1/src/runtime/task/")
                && l.contains(&format!("called from src/lib.rs:{spawn}"))),
        "{}",
        run.stderr
    );
    // The request the task holds is allocated while tokio's scheduler polls
    // the task; async tests keep enough frames (64) to reach the test
    // through the scheduler's (with 25 the path starts inside tokio).
    let held = leak_site("tasks_that_never_finish");
    let held = verdict("tasks_that_never_finish")
        .sites
        .iter()
        .find(|s| format!("{}:{}", s.file, s.line) == held)
        .expect("the request is a site");
    assert!(
        held.traceback
            .first()
            .is_some_and(|f| f.starts_with("tests/service.rs:")),
        "{:#?}",
        held.traceback
    );
    let own = verdict("cache_keeps_every_request");
    assert!(own.sites.iter().all(|s| s.caller.is_none()), "{own:#?}");
}
