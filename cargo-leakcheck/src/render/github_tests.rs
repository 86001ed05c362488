use leakcheck_format::report::{TestReport, TestVerdict};

use super::*;
use crate::outcome::SessionAnalysis;
use crate::outcome::{BinaryOutcome, LeakTestOutcome};

#[test]
fn workflow_command_data_is_escaped_as_github_does() {
    assert_eq!(escape_data("50% of a\r\nb"), "50%25 of a%0D%0Ab");
    assert_eq!(escape_data("a::b,c"), "a::b,c");
    assert_eq!(
        escape_property("leak in t: a,b\n%"),
        "leak in t%3A a%2Cb%0A%25"
    );
}

#[test]
fn only_github_actions_turns_it_on() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(Actions::from_env(env(&[])), None);
    assert_eq!(Actions::from_env(env(&[("GITHUB_ACTIONS", "false")])), None);
    assert_eq!(
        Actions::from_env(env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_WORKSPACE", "/repo"),
            ("GITHUB_STEP_SUMMARY", "")
        ])),
        Some(Actions {
            repo_root: Some("/repo".into()),
            step_summary: None
        })
    );
}

fn leak(name: &str, size: i64, file: &str) -> LeakTestOutcome {
    LeakTestOutcome {
        status: LeakStatus::Leak,
        report: TestReport {
            binary: "b".into(),
            name: name.into(),
            verdict: TestVerdict::Leak,
            iters: 100,
            sites: vec![SiteReport {
                retained_by: Vec::new(),
                file: file.into(),
                line: 3,
                function: "f".into(),
                verdict: SiteVerdict::Leak,
                bytes_per_iter: size as f64 / 100.0,
                blocks_per_iter: 1.0,
                size_diff: size,
                count_diff: 100,
                traceback: Vec::new(),
                series: Vec::new(),
                caller: None,
            }],
            error: None,
            warnings: Vec::new(),
        },
        detail: None,
        grown: false,
        snapshot: Vec::new(),
        duration: None,
    }
}

fn outcome(leaks: Vec<LeakTestOutcome>) -> RunOutcome {
    RunOutcome {
        binaries: vec![BinaryOutcome {
            binary: "b".into(),
            instrumented: true,
            session: SessionAnalysis::default(),
            leak_tests: leaks,
            ..BinaryOutcome::default()
        }],
    }
}

#[test]
fn at_most_ten_errors_worst_first_and_a_notice_for_the_rest() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("src")).unwrap();
    std::fs::write(root.path().join("src/lib.rs"), "").unwrap();
    let leaks = (1..=12)
        .map(|i| leak(&format!("t{i:02}"), i * 1000, "src/lib.rs"))
        .collect();
    let text = annotations(&outcome(leaks), root.path(), root.path());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 11, "{text}");
    assert!(
        lines[0].starts_with("::error file=src/lib.rs,line=3,title=leak in b t12::"),
        "{}",
        lines[0]
    );
    assert!(lines[9].contains("title=leak in b t03::"), "{}", lines[9]);
    assert!(lines[..10].iter().all(|l| l.starts_with("::error ")));
    assert!(
        lines[10].starts_with("::notice title=cargo leakcheck::2 more leaks"),
        "{}",
        lines[10]
    );
}

#[test]
fn a_site_outside_the_repository_has_no_file() {
    let root = tempfile::tempdir().unwrap();
    let text = annotations(
        &outcome(vec![leak("t", 1000, "lru-0.6.0/src/lib.rs")]),
        root.path(),
        root.path(),
    );
    assert!(text.starts_with("::error title=leak in b t::"), "{text}");
}

#[test]
fn the_summary_stays_under_its_limit_with_a_note() {
    let leaks: Vec<_> = (0..500)
        .map(|i| leak(&format!("t{i:03} | <b>"), 1000, "src/lib.rs"))
        .collect();
    let full = summary(&outcome(leaks.clone()), SUMMARY_LIMIT);
    assert!(
        full.contains(
            "| **LEAK** | b | t000 \\| \\<b\\> | <code>src/lib.rs:3</code> | 10.0 | 1.00 |"
        ),
        "{full}"
    );
    assert!(!full.contains("left out"));
    let cut = summary(&outcome(leaks), 4096);
    assert!(cut.len() <= 4096, "{}", cut.len());
    assert!(cut.contains("more rows left out"), "{cut}");
    assert!(
        cut.starts_with("## cargo leakcheck\n\n**500 new leaks**"),
        "{cut}"
    );
}
