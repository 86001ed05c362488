use std::path::Path;

use leakcheck_format::session_record::{SessionRecord, TestDelta};
use leakcheck_format::{Frame, FrameKind, Snapshot, Trace, Traceback};

use super::*;

const ROOT: &str = "/work/fixture";

fn frame(function: &str, file: &str, line: u32, kind: FrameKind) -> Frame {
    Frame {
        file: file.into(),
        line,
        function: function.into(),
        kind,
    }
}

/// A trace allocated by `test` (through libtest's closure) at `file:line`
/// in `function`, then inside `Vec` in std.
fn trace_in_test(test: &str, function: &str, file: &str, line: u32, size: u64) -> Trace {
    Trace {
        traceback: Traceback::new(vec![
            frame(
                "std::rt::lang_start",
                "/rustc/abc/library/std/src/rt.rs",
                1,
                FrameKind::Std,
            ),
            frame(
                "test::run_test",
                "/rustc/abc/library/test/src/lib.rs",
                2,
                FrameKind::Std,
            ),
            frame(
                &format!("fixture::{test}::{{{{closure}}}}"),
                "tests/registry.rs",
                9,
                FrameKind::Workspace,
            ),
            frame(
                &format!("fixture::{test}"),
                "tests/registry.rs",
                10,
                FrameKind::Workspace,
            ),
            frame(function, file, line, FrameKind::Workspace),
            frame(
                "alloc::vec::Vec<T>::push",
                "/rustc/abc/library/alloc/src/vec/mod.rs",
                3,
                FrameKind::Std,
            ),
        ]),
        size,
        count: 1,
    }
}

fn record(traces: Vec<Trace>) -> SessionRecord {
    SessionRecord {
        leak_tests: Vec::new(),
        per_test: Vec::new(),
        live: Snapshot::from_traces(traces, 25).into(),
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("plain_{i:02}")).collect()
}

#[test]
fn registry_appended_by_every_test_is_growth() {
    let tests = names(12);
    let mut traces: Vec<Trace> = tests
        .iter()
        .map(|t| trace_in_test(t, "fixture::setup", "src/lib.rs", 7, 4096))
        .collect();
    // A lazily filled static, left by one test only.
    traces.push(trace_in_test(
        "plain_03",
        "fixture::table",
        "src/lib.rs",
        20,
        1024,
    ));
    let analysis = analyse(&record(traces), &tests, "registry", Path::new(ROOT), 3);

    assert!(analysis.has_growth());
    assert_eq!(analysis.sites.len(), 2);
    let growth = &analysis.sites[0];
    assert!(growth.growth);
    assert_eq!((growth.file.as_str(), growth.line), ("src/lib.rs", 7));
    assert_eq!(growth.function, "fixture::setup");
    assert_eq!(growth.binary, "registry");
    assert_eq!(growth.size_diff, 12 * 4096);
    assert_eq!(growth.count_diff, 12);
    assert_eq!(growth.tests, tests);

    let once = &analysis.sites[1];
    assert!(!once.growth);
    assert_eq!(
        (once.file.as_str(), once.line, once.size_diff),
        ("src/lib.rs", 20, 1024)
    );
    assert_eq!(once.tests, ["plain_03"]);
}

#[test]
fn fewer_contributors_than_the_threshold_is_a_one_time_cost() {
    let tests = names(5);
    let traces = vec![
        trace_in_test("plain_00", "fixture::cache", "src/lib.rs", 3, 100),
        trace_in_test("plain_01", "fixture::cache", "src/lib.rs", 3, 100),
        // The same test twice counts once.
        trace_in_test("plain_01", "fixture::cache", "src/lib.rs", 3, 100),
    ];
    let analysis = analyse(&record(traces.clone()), &tests, "b", Path::new(ROOT), 3);
    assert!(!analysis.has_growth());
    assert_eq!(analysis.sites[0].tests, ["plain_00", "plain_01"]);
    assert_eq!(analysis.sites[0].size_diff, 300);

    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 2);
    assert!(analysis.has_growth());
}

#[test]
fn memory_outside_any_test_is_not_judged() {
    let harness = Trace {
        traceback: Traceback::new(vec![
            frame(
                "std::rt::lang_start",
                "/rustc/abc/library/std/src/rt.rs",
                1,
                FrameKind::Std,
            ),
            frame(
                "test::console::run_tests_console",
                "/rustc/abc/library/test/src/console.rs",
                5,
                FrameKind::Std,
            ),
        ]),
        size: 5000,
        count: 7,
    };
    // A test name that is only a prefix of the frame's function is not it.
    let lookalike = Trace {
        traceback: Traceback::new(vec![frame(
            "fixture::plain_00_helper",
            "src/lib.rs",
            1,
            FrameKind::Workspace,
        )]),
        size: 10,
        count: 1,
    };
    let analysis = analyse(
        &record(vec![harness, lookalike]),
        &names(2),
        "b",
        Path::new(ROOT),
        3,
    );
    assert!(analysis.sites.is_empty());
    assert_eq!(analysis.unattributed, (5010, 8));
}

#[test]
fn tests_in_modules_match_by_path_without_the_crate() {
    let tests = vec![
        "tests::a".to_owned(),
        "tests::b".to_owned(),
        "tests::c".to_owned(),
    ];
    let traces: Vec<Trace> = tests
        .iter()
        .map(|t| trace_in_test(t, "mylib::register", "src/lib.rs", 40, 64))
        .collect();
    let analysis = analyse(&record(traces), &tests, "mylib", Path::new(ROOT), 3);
    assert!(analysis.sites[0].growth);
    assert_eq!(analysis.sites[0].tests, tests);
}

#[test]
fn exact_per_test_deltas_are_used_when_present() {
    let delta = |test: &str, line| TestDelta {
        test: test.into(),
        retained: Snapshot::from_traces(
            vec![Trace {
                traceback: Traceback::new(vec![frame(
                    "h::setup",
                    "src/lib.rs",
                    line,
                    FrameKind::Workspace,
                )]),
                size: 4096,
                count: 1,
            }],
            25,
        )
        .into(),
    };
    let record = SessionRecord {
        leak_tests: Vec::new(),
        per_test: vec![
            delta("z_first", 7),
            delta("a_second", 7),
            delta("m_third", 7),
            delta("m_third_b", 9),
        ],
        // Ignored when per-test deltas exist.
        live: Snapshot::from_traces(vec![trace_in_test("x", "h::other", "src/x.rs", 1, 1)], 25)
            .into(),
    };
    let analysis = analyse(&record, &[], "h", Path::new(ROOT), 3);
    assert_eq!(analysis.sites.len(), 2);
    assert!(analysis.sites[0].growth);
    // Run order, not alphabetical.
    assert_eq!(analysis.sites[0].tests, ["z_first", "a_second", "m_third"]);
    assert_eq!(analysis.sites[1].tests, ["m_third_b"]);
    assert!(!analysis.sites[1].growth);
}

#[test]
fn absolute_workspace_paths_are_made_relative() {
    let tests = names(1);
    let traces = vec![trace_in_test(
        "plain_00",
        "f::g",
        "/work/fixture/src/lib.rs",
        2,
        8,
    )];
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 3);
    assert_eq!(analysis.sites[0].file, "src/lib.rs");
    assert_eq!(
        relative("lru-0.6.0/src/lib.rs", Path::new(ROOT)),
        "lru-0.6.0/src/lib.rs"
    );
    assert_eq!(
        relative("/elsewhere/x.rs", Path::new(ROOT)),
        "/elsewhere/x.rs"
    );
}

#[test]
fn sites_sort_growth_first_then_size_then_place() {
    let tests = names(3);
    let mut traces = Vec::new();
    for t in &tests {
        traces.push(trace_in_test(t, "f::small_growth", "src/b.rs", 1, 10));
    }
    traces.push(trace_in_test(
        "plain_00",
        "f::big_once",
        "src/a.rs",
        1,
        1_000_000,
    ));
    traces.push(trace_in_test("plain_01", "f::tie", "src/c.rs", 5, 50));
    traces.push(trace_in_test("plain_02", "f::tie", "src/c.rs", 4, 50));
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 3);
    let order: Vec<(String, u32)> = analysis
        .sites
        .iter()
        .map(|s| (s.file.clone(), s.line))
        .collect();
    assert_eq!(
        order,
        [
            ("src/b.rs".into(), 1),
            ("src/a.rs".into(), 1),
            ("src/c.rs".into(), 4),
            ("src/c.rs".into(), 5)
        ]
    );
}

/// A trace allocated by `test` inside std's symbolisation cache, as the
/// panic hook leaves it under `RUST_BACKTRACE=1`.
fn panic_hook_cache(test: &str) -> Trace {
    let mut frames = trace_in_test(test, "fixture::parse", "src/lib.rs", 3, 0)
        .traceback
        .frames()
        .to_vec();
    frames.pop();
    frames.extend([
        frame(
            "std::panicking::default_hook",
            "std:std/src/panicking.rs",
            316,
            FrameKind::Std,
        ),
        frame("_Unwind_Backtrace", "<unknown>", 0, FrameKind::Other),
        frame(
            "std::backtrace_rs::symbolize::gimli::resolve",
            "std:std/src/../../backtrace/src/symbolize/gimli.rs",
            453,
            FrameKind::Std,
        ),
        frame(
            "<gimli::read::abbrev::Abbreviations>::insert",
            "<unknown>",
            0,
            FrameKind::Std,
        ),
    ]);
    Trace {
        traceback: Traceback::new(frames),
        size: 40_000,
        count: 100,
    }
}

#[test]
fn std_backtrace_cache_is_left_out_of_the_judgement() {
    let tests = names(4);
    let traces: Vec<Trace> = tests.iter().map(|t| panic_hook_cache(t)).collect();
    let analysis = analyse(&record(traces), &tests, "suite", Path::new(ROOT), 3);
    assert!(analysis.sites.is_empty(), "{:#?}", analysis.sites);
    assert_eq!(analysis.std_caches, (160_000, 400));
    assert!(!analysis.has_growth());
}

#[test]
fn a_known_registry_is_growth_that_does_not_fail() {
    let tests = names(3);
    let traces: Vec<Trace> = tests
        .iter()
        .map(|t| {
            let mut tr = trace_in_test(t, "insta::runtime::detect_snapshot_name", "x", 1, 64);
            let mut frames = tr.traceback.frames().to_vec();
            let last = frames.len() - 2;
            frames[last].file = "insta-1.49.0/src/runtime.rs".into();
            frames[last].kind = FrameKind::Registry;
            tr.traceback = Traceback::new(frames);
            tr
        })
        .collect();
    let analysis = analyse(&record(traces), &tests, "suite", Path::new(ROOT), 3);
    let site = &analysis.sites[0];
    assert!(site.growth && !site.fails(), "{site:?}");
    assert!(site.known.as_deref().unwrap().starts_with("insta's"));
    assert!(!analysis.has_growth());
}

/// What `crossbeam-epoch` leaves at exit in a run whose every test pins:
/// the garbage of the most recent few tests, not yet collected.
fn deferred_garbage(tests: &[String], last: usize) -> Vec<Trace> {
    tests[tests.len() - last..]
        .iter()
        .map(|t| {
            trace_in_test(
                t,
                "<crossbeam_epoch::atomic::Owned<T>>::new",
                "crossbeam-epoch-0.9.21/src/atomic.rs",
                200,
                2320,
            )
        })
        .collect()
}

#[test]
fn memory_left_only_by_the_last_tests_of_the_run_is_not_growth() {
    // The 60 tests of a synthetic run that each pin and defer garbage: the
    // last 3 still hold theirs at exit.
    let tests = names(60);
    let analysis = analyse(
        &record(deferred_garbage(&tests, 3)),
        &tests,
        "b",
        Path::new(ROOT),
        3,
    );
    assert!(!analysis.has_growth());
    let site = &analysis.sites[0];
    assert!(!site.growth);
    assert_eq!(site.tests, ["plain_57", "plain_58", "plain_59"]);
    assert_eq!(site.count_diff, 3);

    // crossbeam-deque's `tests/steal.rs`: 15 tests, of which the 12th, 13th
    // and 15th left garbage.
    let tests = names(15);
    let traces = [11, 12, 14]
        .iter()
        .map(|&i| {
            trace_in_test(
                &tests[i],
                "<crossbeam_epoch::atomic::Owned<T>>::new",
                "crossbeam-epoch-0.9.21/src/atomic.rs",
                200,
                2320,
            )
        })
        .collect();
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 3);
    assert!(!analysis.has_growth());

    // The same with exact per-test deltas.
    let tests = names(16);
    let per_test = tests
        .iter()
        .enumerate()
        .map(|(i, t)| TestDelta {
            test: t.clone(),
            retained: Snapshot::from_traces(
                if i >= 13 {
                    deferred_garbage(&tests[..=i], 1)
                } else {
                    Vec::new()
                },
                25,
            )
            .into(),
        })
        .collect();
    let exact = SessionRecord {
        leak_tests: Vec::new(),
        per_test,
        live: Snapshot::from_traces(Vec::new(), 25).into(),
    };
    let analysis = analyse(&exact, &[], "b", Path::new(ROOT), 3);
    assert_eq!(
        analysis.sites[0].tests,
        ["plain_13", "plain_14", "plain_15"]
    );
    assert!(!analysis.has_growth());
}

#[test]
fn growth_that_starts_in_the_first_half_of_the_run_is_growth() {
    // The `session` fixture's suite: 4 tests that leave nothing (they sort
    // first), then 12 that each register a plugin.
    let tests = names(16);
    let traces: Vec<Trace> = tests[4..]
        .iter()
        .map(|t| trace_in_test(t, "fixture::setup", "src/lib.rs", 7, 4096))
        .collect();
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 3);
    assert!(analysis.has_growth());
    assert_eq!(analysis.sites[0].tests.len(), 12);

    // A registry that only the run's early tests fill is growth too.
    let tests = names(10);
    let traces: Vec<Trace> = tests[..3]
        .iter()
        .map(|t| trace_in_test(t, "fixture::setup", "src/lib.rs", 7, 4096))
        .collect();
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 3);
    assert!(analysis.has_growth());

    // Growth that started at the middle of the run, by more than a quarter
    // of its tests (a registry only the tests sorted last fill), is growth.
    let traces: Vec<Trace> = tests[5..]
        .iter()
        .map(|t| trace_in_test(t, "fixture::setup", "src/lib.rs", 7, 4096))
        .collect();
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 3);
    assert!(analysis.has_growth());
    // Two of them, in the last quarter, are not.
    let traces: Vec<Trace> = tests[8..]
        .iter()
        .map(|t| trace_in_test(t, "fixture::setup", "src/lib.rs", 7, 4096))
        .collect();
    let analysis = analyse(&record(traces), &tests, "b", Path::new(ROOT), 2);
    assert!(!analysis.has_growth());
}

#[test]
fn spread_needs_an_early_first_contributor_or_many_contributors() {
    assert!(spread([0, 1, 2].into_iter(), 3));
    assert!(spread([1, 2, 3].into_iter(), 4));
    // The second half of 13 tests, 6 of them (the `native` fixture).
    assert!(spread([7, 8, 9, 10, 11, 12].into_iter(), 13));
    // 3 of crossbeam-deque's 15 steal tests, and of the `deferred` fixture's 16.
    assert!(!spread([11, 12, 14].into_iter(), 15));
    assert!(!spread([13, 14, 15].into_iter(), 16));
    assert!(!spread([5, 6].into_iter(), 8));
    assert!(!spread(std::iter::empty(), 4));
}
