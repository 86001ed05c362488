use leakcheck_format::report::{SessionSite, SiteReport, SiteVerdict, TestReport, TestVerdict};

use super::*;
use crate::outcome::SessionAnalysis;
use crate::outcome::error_entry;

fn leak_site(file: &str, line: u32, bytes: f64, iters: i64) -> SiteReport {
    SiteReport {
        retained_by: Vec::new(),
        file: file.into(),
        line,
        function: "fixture::handle_request".into(),
        verdict: SiteVerdict::Leak,
        bytes_per_iter: bytes,
        blocks_per_iter: 1.0,
        size_diff: (bytes as i64) * iters,
        count_diff: iters,
        traceback: Vec::new(),
        series: Vec::new(),
        caller: None,
    }
}

fn test(binary: &str, name: &str, status: LeakStatus, sites: Vec<SiteReport>) -> LeakTestOutcome {
    let verdict = match status {
        LeakStatus::Clean => TestVerdict::Clean,
        LeakStatus::Leak | LeakStatus::Accepted => TestVerdict::Leak,
        LeakStatus::Failed | LeakStatus::Fault => TestVerdict::Error,
    };
    LeakTestOutcome {
        status,
        report: TestReport {
            binary: binary.into(),
            name: name.into(),
            verdict,
            iters: 10_000,
            sites,
            error: None,
            warnings: Vec::new(),
        },
        detail: None,
        grown: false,
        snapshot: Vec::new(),
        duration: None,
    }
}

fn session_site(line: u32, tests: usize, growth: bool) -> SessionSite {
    SessionSite {
        retained_by: Vec::new(),
        binary: "registry".into(),
        file: "src/lib.rs".into(),
        line,
        function: "fixture::setup".into(),
        size_diff: 4096 * tests as i64,
        count_diff: tests as i64,
        tests: (0..tests).map(|i| format!("plain_{i:02}")).collect(),
        growth,
        known: None,
        accepted: false,
    }
}

/// A run with one of each: a new leak, an accepted one, a clean leak test,
/// a fault, session growth, a one-time cost and a failed test.
pub(crate) fn mixed() -> RunOutcome {
    RunOutcome {
        binaries: vec![
            BinaryOutcome {
                binary: "abort".into(),
                fault: Some("killed by signal 6 (SIGABRT: aborted)".into()),
                detail: Some("running 3 tests".into()),
                ..BinaryOutcome::default()
            },
            BinaryOutcome {
                binary: "leak".into(),
                instrumented: true,
                leak_tests: vec![
                    test(
                        "leak",
                        "handle_request_retains_every_payload",
                        LeakStatus::Leak,
                        vec![leak_site("src/lib.rs", 10, 1024.0, 10_000)],
                    ),
                    test(
                        "leak",
                        "known_leak",
                        LeakStatus::Accepted,
                        vec![leak_site("src/cache.rs", 5, 16.0, 10_000)],
                    ),
                    test("leak", "plateau", LeakStatus::Clean, vec![]),
                    LeakTestOutcome {
                        status: LeakStatus::Fault,
                        report: error_entry(
                            "leak",
                            "crashes",
                            "killed by signal 11 (SIGSEGV: segmentation fault)",
                        ),
                        detail: None,
                        grown: false,
                        snapshot: Vec::new(),
                        duration: None,
                    },
                ],
                ..BinaryOutcome::default()
            },
            BinaryOutcome {
                binary: "plain".into(),
                ..BinaryOutcome::default()
            },
            BinaryOutcome {
                binary: "registry".into(),
                instrumented: true,
                failed_tests: vec!["tests::broken".into()],
                detail: Some("---- tests::broken stdout ----\nboom".into()),
                session: SessionAnalysis {
                    sites: vec![session_site(7, 12, true), session_site(20, 1, false)],
                    unattributed: (2048, 3),
                    std_caches: (0, 0),
                },
                ..BinaryOutcome::default()
            },
        ],
    }
}

fn style(verbosity: Verbosity) -> Style {
    Style {
        paint: Paint::new(false),
        verbosity,
        mode: SnapshotMode::Check,
    }
}

#[test]
fn mixed_run() {
    let text = render(&mixed(), style(Verbosity::Normal));
    let expected = "\
Leak tests
  LEAK     leak handle_request_retains_every_payload  (10000 iters; new: it has no accepted snapshot)
             +10000.0 KiB  count  10000  src/lib.rs:10  (1.0 KiB/iter, 1.00 blocks/iter)  in fixture::handle_request
  accepted leak known_leak  (10000 iters; known leak, matches its accepted snapshot)
             +156.2 KiB  count  10000  src/cache.rs:5  (16.0 B/iter, 1.00 blocks/iter)  in fixture::handle_request
  clean    leak plateau  (10000 iters)
  ERROR    leak crashes: killed by signal 11 (SIGSEGV: segmentation fault)

Session growth (memory that piles up with the number of tests)
  registry  +48.0 KiB  count     12  src/lib.rs:7  in fixture::setup
      left by each of 12 tests: plain_00, plain_01, plain_02, plain_03, plain_04, plain_05, ... and 6 more

One-time costs (left once, like warm-up; not failures)
  registry  +4.0 KiB  count      1  src/lib.rs:20  in fixture::setup
      left by plain_00

Failed tests
  FAILED   registry tests::broken
      ---- tests::broken stdout ----
      boom

Test binaries that could not be checked
  ERROR    abort: killed by signal 6 (SIGABRT: aborted)
      running 3 tests

Not instrumented (ran, but measured nothing)
  plain
  add `leakcheck_rt::install!();` to a test target to check it

leakcheck: 1 new leak, 1 accepted leak, 1 clean leak test, session growth at 1 site, 1 failed test, 2 errors (2 binaries checked)
fix the leak, or accept it as known with `cargo leakcheck --review` (or --accept)
fix the session growth, or accept it as known with `cargo leakcheck --accept` (it lists the site in .config/leakcheck-accepted.toml)
";
    assert_eq!(text, expected, "\n{text}");
}

#[test]
fn quiet_shows_only_problems() {
    let text = render(&mixed(), style(Verbosity::Quiet));
    assert!(
        text.contains("handle_request_retains_every_payload"),
        "{text}"
    );
    assert!(!text.contains("known_leak"), "{text}");
    assert!(!text.contains("plateau"), "{text}");
    assert!(!text.contains("One-time costs"), "{text}");
    assert!(!text.contains("Not instrumented"), "{text}");
    assert!(text.contains("Session growth"), "{text}");
    assert!(text.contains("abort: killed by signal 6"), "{text}");
}

#[test]
fn verbose_names_every_test_and_unattributed_memory() {
    let text = render(&mixed(), style(Verbosity::Verbose));
    assert!(text.contains("plain_11"), "{text}");
    assert!(
        text.contains("registry: 2.0 KiB in 3 blocks live at exit outside any test"),
        "{text}"
    );
}

#[test]
fn a_clean_run_says_so() {
    let outcome = RunOutcome {
        binaries: vec![BinaryOutcome {
            binary: "ok".into(),
            instrumented: true,
            leak_tests: vec![test("ok", "plateau", LeakStatus::Clean, vec![])],
            ..BinaryOutcome::default()
        }],
    };
    let text = render(&outcome, style(Verbosity::Quiet));
    assert_eq!(
        text,
        "leakcheck: 1 clean leak test, no session growth (1 binary checked)\n"
    );
}

#[test]
fn colour_marks_leaks() {
    let text = render(
        &mixed(),
        Style {
            paint: Paint::new(true),
            ..style(Verbosity::Normal)
        },
    );
    assert!(text.contains("\x1b[1m\x1b[31mLEAK    \x1b[0m"), "{text}");
}

#[test]
fn a_fallback_to_the_unwinder_is_said_at_every_verbosity() {
    let outcome = RunOutcome {
        binaries: vec![
            BinaryOutcome {
                binary: "slow".into(),
                instrumented: true,
                unwinder: true,
                ..BinaryOutcome::default()
            },
            BinaryOutcome {
                binary: "fast".into(),
                instrumented: true,
                ..BinaryOutcome::default()
            },
        ],
    };
    for verbosity in [Verbosity::Quiet, Verbosity::Normal] {
        let text = render(&outcome, style(verbosity));
        assert!(
            text.contains(
                "No frame pointers (stacks taken with the slow DWARF unwinder)\n  slow\n"
            ),
            "{text}"
        );
        assert!(!text.contains("fast\n"), "{text}");
    }
    assert_eq!(outcome.to_report().unwinder, ["slow"]);
    assert!(
        render(&mixed(), style(Verbosity::Normal))
            .find("No frame pointers")
            .is_none()
    );
}

#[test]
fn one_time_costs_are_capped_per_binary_as_leak_sites_are() {
    let sites: Vec<SessionSite> = (1..=5).map(|line| session_site(line, 1, false)).collect();
    let outcome = RunOutcome {
        binaries: vec![BinaryOutcome {
            binary: "registry".into(),
            instrumented: true,
            session: SessionAnalysis {
                sites,
                ..SessionAnalysis::default()
            },
            ..BinaryOutcome::default()
        }],
    };
    let text = render(&outcome, style(Verbosity::Normal));
    let shown = text.matches("  registry  +").count();
    assert_eq!(shown, 3, "{text}");
    assert!(
        text.contains("... 2 more (-v; at most 3 per binary are shown)"),
        "{text}"
    );
    let text = render(&outcome, style(Verbosity::Verbose));
    assert_eq!(text.matches("  registry  +").count(), 5, "{text}");
    assert!(!text.contains("more (-v"), "{text}");
}

#[test]
fn a_grown_leak_is_told_from_a_new_one() {
    let mut run = mixed();
    let leak = &mut run.binaries[1].leak_tests[0];
    assert_eq!(leak.status, LeakStatus::Leak);
    leak.grown = true;
    let text = render(&run, style(Verbosity::Normal));
    assert!(
        text.contains(
            "  LEAK     leak handle_request_retains_every_payload  (10000 iters; grew past, or \
             differs from, its accepted snapshot)\n"
        ),
        "{text}"
    );
}

#[test]
fn a_grown_leak_counts_as_a_new_leak_in_the_summary() {
    let mut run = mixed();
    run.binaries[1].leak_tests[0].grown = true;
    let text = render(&run, style(Verbosity::Normal));
    assert!(
        text.contains("leakcheck: 1 new leak, 1 accepted leak, "),
        "{text}"
    );
}

#[test]
fn a_leak_rate_reads_in_its_unit() {
    let mut run = mixed();
    run.binaries[1].leak_tests[0].report.sites[0] =
        leak_site("src/lib.rs", 10, 5_175_296.0, 10_000);
    let text = render(&run, style(Verbosity::Normal));
    assert!(
        text.contains("src/lib.rs:10  (4.9 MiB/iter, 1.00 blocks/iter)"),
        "{text}"
    );
    assert!(!text.contains("5175296"), "{text}");
}

#[test]
fn a_grown_leak_names_what_differs_and_a_moved_site() {
    let mut run = mixed();
    let leak = &mut run.binaries[1].leak_tests[0];
    leak.grown = true;
    leak.snapshot = vec![
        "accepted site grew: src/lib.rs:9 in fixture::handle_request: ~500 → ~1000 B/iter".into(),
        "accepted site moved: src/lib.rs:8 → 9".into(),
    ];
    let text = render(&run, style(Verbosity::Normal));
    assert!(
        text.contains(
            "  in fixture::handle_request\n             accepted site grew: src/lib.rs:9 in \
             fixture::handle_request: ~500 → ~1000 B/iter\n             accepted site moved: \
             src/lib.rs:8 → 9\n"
        ),
        "{text}"
    );
}

#[test]
fn the_function_comes_before_the_workspace_line_that_called_it() {
    let mut site = leak_site("tokio-1.54.1/src/runtime/task/core.rs", 261, 256.0, 1000);
    site.function = "tokio::runtime::task::core::Cell<T,S>::new".into();
    site.caller = Some(leakcheck_format::report::Caller {
        file: "src/lib.rs".into(),
        line: 69,
        function: "service::spawn_stuck".into(),
    });
    let mut run = mixed();
    run.binaries[1].leak_tests[0].report.sites = vec![site];
    let text = render(&run, style(Verbosity::Normal));
    assert!(
        text.contains(
            "tokio-1.54.1/src/runtime/task/core.rs:261  (256.0 B/iter, 1.00 blocks/iter)  \
             in tokio::runtime::task::core::Cell<T,S>::new  called from src/lib.rs:69\n"
        ),
        "{text}"
    );
}

/// [`mixed`] with what retains its new leak's site (a static) and its
/// session growth (a cycle), and those two lines as reports show them.
pub(crate) fn mixed_with_retainers() -> (RunOutcome, [&'static str; 2]) {
    use leakcheck_format::report::{Caller, Retainer, RetainerKind};
    let mut run = mixed();
    let held = Caller {
        file: "src/lib.rs".into(),
        line: 11,
        function: "fixture::register".into(),
    };
    run.binaries[1].leak_tests[0].report.sites[0].retained_by = vec![Retainer {
        kind: RetainerKind::Static,
        root: "fixture::REGISTRY".into(),
        path: vec![held.clone()],
    }];
    let growth = run
        .binaries
        .iter_mut()
        .flat_map(|b| b.session.sites.iter_mut())
        .find(|s| s.growth)
        .expect("a growth site");
    growth.retained_by = vec![Retainer {
        kind: RetainerKind::Cycle,
        root: String::new(),
        path: vec![held.clone(), held],
    }];
    let lines = [
        "static fixture::REGISTRY  →  a block allocated at src/lib.rs:11 in \
         fixture::register  →  the block",
        "a cycle of 2 blocks allocated at src/lib.rs:11 (make one link Weak)",
    ];
    (run, lines)
}

#[test]
fn what_retains_a_leak_is_shown_in_the_human_and_json_reports() {
    let (run, lines) = mixed_with_retainers();
    let human = render(&run, style(Verbosity::Normal));
    for line in lines {
        assert!(human.contains(&format!("retained by  {line}")), "{human}");
    }
    let json = serde_json::to_string(&run.to_report()).unwrap();
    assert!(
        json.contains("\"retained_by\":[{\"kind\":\"static\""),
        "{json}"
    );
    assert!(
        json.contains("\"retained_by\":[{\"kind\":\"cycle\""),
        "{json}"
    );
}
