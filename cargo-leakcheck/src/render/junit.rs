//! The JUnit XML report (`--junit PATH`), with quick-junit as nextest
//! writes its own.
//!
//! A `<testsuite>` per test binary; in it a `<testcase>` per leak test and
//! one, `(session)`, for the binary's session run, plus one per ordinary
//! test that failed. A new leak or session growth is a `<failure>` whose
//! message names `file:line` and whose text holds the report's lines; a
//! test that could not be measured (crash, timeout) is an `<error>`; the
//! figures are `<properties>`. Each testcase's `time` is the wall time of
//! its process (a session's includes listing its tests), a suite's the sum
//! of its testcases'; a report merged from shards' JSON has no times.

use std::fmt::Write;
use std::time::Duration;

use leakcheck_format::report::{SessionSite, SiteReport, SiteVerdict, TestReport};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::neutralise;
use crate::outcome::{BinaryOutcome, LeakStatus, LeakTestOutcome, RunOutcome, SESSION_ENTRY};

/// The report's name in the XML.
const REPORT_NAME: &str = "cargo-leakcheck";

/// The JUnit XML of `outcome`.
pub fn render(outcome: &RunOutcome) -> String {
    let mut report = Report::new(REPORT_NAME);
    for b in outcome.binaries.iter().filter(|b| !b.no_tests) {
        let mut suite = TestSuite::new(b.binary.as_str());
        suite.add_test_cases(b.leak_tests.iter().map(|t| leak_test_case(b, t)));
        suite.add_test_case(session_case(b));
        // The binary's processes, one after another: what it would take
        // at `-j 1`.
        let times = b
            .leak_tests
            .iter()
            .map(|t| t.duration)
            .chain([b.session_duration]);
        if let Some(total) = times.sum::<Option<Duration>>() {
            suite.set_time(total);
        }
        for name in &b.failed_tests {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_type("test failed")
                .set_message(format!("{name} failed in the session run"));
            if let Some(detail) = &b.detail {
                status.set_description(detail.as_str());
            }
            let mut case = TestCase::new(name.as_str(), status);
            case.set_classname(b.binary.as_str());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    let mut xml = report
        .to_string()
        .expect("a JUnit report of strings always serialises");
    if !xml.ends_with('\n') {
        xml.push('\n');
    }
    neutralise::xml_document(&xml)
}

/// `src/lib.rs:10`.
fn place(file: &str, line: u32) -> String {
    format!("{file}:{line}")
}

fn leak_test_case(b: &BinaryOutcome, t: &LeakTestOutcome) -> TestCase {
    let r = &t.report;
    let leaks: Vec<&SiteReport> = r
        .sites
        .iter()
        .filter(|s| s.verdict == SiteVerdict::Leak)
        .collect();
    let status = match t.status {
        LeakStatus::Clean => TestCaseStatus::success(),
        LeakStatus::Accepted => TestCaseStatus::success(),
        LeakStatus::Leak => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = match leaks.first() {
                Some(s) => format!(
                    "leaks {:.1} B/iter ({:.2} blocks/iter) at {}{}",
                    s.bytes_per_iter,
                    s.blocks_per_iter,
                    place(&s.file, s.line),
                    more(leaks.len())
                ),
                None => "a new or grown leak".to_owned(),
            };
            status
                .set_type("leak")
                .set_message(message)
                .set_description(leak_text(r, t.detail.as_deref()));
            status
        }
        LeakStatus::Failed | LeakStatus::Fault => {
            let kind = match t.status {
                LeakStatus::Failed => NonSuccessKind::Failure,
                _ => NonSuccessKind::Error,
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_type(match kind {
                    NonSuccessKind::Failure => "test failed",
                    NonSuccessKind::Error => "not measured",
                })
                .set_message(r.error.as_deref().unwrap_or("unknown error"));
            if let Some(detail) = &t.detail {
                status.set_description(detail.as_str());
            }
            status
        }
    };
    let mut case = TestCase::new(r.name.as_str(), status);
    case.set_classname(b.binary.as_str());
    if let Some(time) = t.duration {
        case.set_time(time);
    }
    case.add_property(Property::new("iters", r.iters.to_string()));
    if let Some(s) = leaks.first().copied().or(r.sites.first()) {
        case.add_properties([
            Property::new("site", place(&s.file, s.line)),
            Property::new("verdict", verdict_name(s.verdict)),
            Property::new("bytes_per_iter", format!("{:.1}", s.bytes_per_iter)),
            Property::new("blocks_per_iter", format!("{:.2}", s.blocks_per_iter)),
            Property::new("size_diff", s.size_diff.to_string()),
            Property::new("count_diff", s.count_diff.to_string()),
        ]);
    }
    if t.status == LeakStatus::Accepted {
        case.set_system_out(format!(
            "known leak, matches its accepted snapshot\n{}",
            leak_text(r, None)
        ));
    }
    case
}

/// ` (and 2 more sites)`.
fn more(sites: usize) -> String {
    match sites {
        0 | 1 => String::new(),
        2 => " (and 1 more site)".to_owned(),
        n => format!(" (and {} more sites)", n - 1),
    }
}

fn verdict_name(v: SiteVerdict) -> &'static str {
    match v {
        SiteVerdict::Leak => "leak",
        SiteVerdict::Plateau => "plateau",
        SiteVerdict::Fluctuating => "fluctuating",
    }
}

/// The report lines of a leak test: every site that grew, with the call
/// path of each leak.
fn leak_text(r: &TestReport, detail: Option<&str>) -> String {
    let mut out = format!("{} {} ({} iters)\n", r.binary, r.name, r.iters);
    for s in &r.sites {
        let _ = write!(out, "  {s}");
        if s.verdict != SiteVerdict::Leak {
            let _ = write!(out, "  [{}]", verdict_name(s.verdict));
        }
        if !s.function.is_empty() {
            let _ = write!(out, "  in {}", s.function);
        }
        out.push('\n');
        for retainer in &s.retained_by {
            let _ = writeln!(out, "    retained by  {}", retainer.line());
        }
        for frame in &s.traceback {
            let _ = writeln!(out, "      {frame}");
        }
    }
    if let Some(detail) = detail {
        out.push('\n');
        out.push_str(detail);
        if !detail.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn session_line(s: &SessionSite) -> String {
    let mut line = format!("  {s}");
    if !s.function.is_empty() {
        let _ = write!(line, "  in {}", s.function);
    }
    let who = if s.tests.len() == 1 {
        "left by"
    } else {
        "left by each of"
    };
    let _ = write!(line, "\n      {who} {}", s.tests.join(", "));
    for retainer in &s.retained_by {
        let _ = write!(line, "\n      retained by  {}", retainer.line());
    }
    line
}

fn session_case(b: &BinaryOutcome) -> TestCase {
    let growth: Vec<&SessionSite> = b.session.sites.iter().filter(|s| s.growth).collect();
    let once: Vec<&SessionSite> = b.session.sites.iter().filter(|s| !s.growth).collect();
    let status = if let Some(reason) = &b.fault {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type("not measured").set_message(reason.as_str());
        if let Some(detail) = &b.detail {
            status.set_description(detail.as_str());
        }
        status
    } else if let Some(worst) = growth.first() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let text: Vec<String> = growth.iter().map(|s| session_line(s)).collect();
        status
            .set_type("session growth")
            .set_message(format!(
                "session growth at {}: {:+.1} KiB in {} blocks, left by each of {} tests{}",
                place(&worst.file, worst.line),
                worst.size_diff as f64 / 1024.0,
                worst.count_diff,
                worst.tests.len(),
                more(growth.len())
            ))
            .set_description(format!(
                "{} session growth (memory that piles up with the number of tests)\n{}\n",
                b.binary,
                text.join("\n")
            ));
        status
    } else if b.is_uninstrumented() {
        let mut status = TestCaseStatus::skipped();
        status.set_message("not instrumented: the binary does not call leakcheck_rt::install!()");
        status
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new(SESSION_ENTRY, status);
    case.set_classname(b.binary.as_str());
    if let Some(time) = b.session_duration {
        case.set_time(time);
    }
    let size: i64 = growth.iter().map(|s| s.size_diff).sum();
    let count: i64 = growth.iter().map(|s| s.count_diff).sum();
    case.add_properties([
        Property::new("growth_sites", growth.len().to_string()),
        Property::new("one_time_sites", once.len().to_string()),
        Property::new("size_diff", size.to_string()),
        Property::new("count_diff", count.to_string()),
    ]);
    if let Some(worst) = growth.first() {
        case.add_properties([
            Property::new("site", place(&worst.file, worst.line)),
            Property::new("tests", worst.tests.len().to_string()),
        ]);
    }
    if !once.is_empty() {
        let text: Vec<String> = once.iter().map(|s| session_line(s)).collect();
        case.set_system_out(format!(
            "one-time costs (left once, like warm-up; not failures)\n{}\n",
            text.join("\n")
        ));
    }
    case
}

#[cfg(test)]
mod tests {
    use leakcheck_format::report::TestVerdict;

    use super::*;
    use crate::outcome::SessionAnalysis;
    use crate::outcome::error_entry;

    fn leak_site() -> SiteReport {
        SiteReport {
            retained_by: Vec::new(),
            file: "src/lib.rs".into(),
            line: 10,
            function: "fixture::handle_request".into(),
            verdict: SiteVerdict::Leak,
            bytes_per_iter: 1024.0,
            blocks_per_iter: 1.0,
            size_diff: 10_240_000,
            count_diff: 10_000,
            traceback: vec!["tests/leak.rs:5 in leak::t::{{closure}}".into()],
            series: Vec::new(),
            caller: None,
        }
    }

    fn outcome() -> RunOutcome {
        let leak = LeakTestOutcome {
            status: LeakStatus::Leak,
            report: TestReport {
                binary: "leak".into(),
                name: "handle <request> & \"more\"".into(),
                verdict: TestVerdict::Leak,
                iters: 10_000,
                sites: vec![leak_site()],
                error: None,
                warnings: Vec::new(),
            },
            detail: None,
            grown: false,
            snapshot: Vec::new(),
            duration: None,
        };
        let clean = LeakTestOutcome {
            status: LeakStatus::Clean,
            report: TestReport {
                name: "clean".into(),
                verdict: TestVerdict::Clean,
                sites: Vec::new(),
                ..leak.report.clone()
            },
            detail: None,
            grown: false,
            snapshot: Vec::new(),
            duration: None,
        };
        let crashed = LeakTestOutcome {
            status: LeakStatus::Fault,
            report: error_entry("leak", "crashes", "killed by signal 6"),
            detail: None,
            grown: false,
            snapshot: Vec::new(),
            duration: None,
        };
        RunOutcome {
            binaries: vec![BinaryOutcome {
                binary: "leak".into(),
                instrumented: true,
                session: SessionAnalysis {
                    sites: vec![SessionSite {
                        retained_by: Vec::new(),
                        binary: "leak".into(),
                        file: "src/lib.rs".into(),
                        line: 7,
                        function: String::new(),
                        size_diff: 49_152,
                        count_diff: 12,
                        tests: vec!["a".into(), "b".into(), "c".into()],
                        growth: true,
                        known: None,
                        accepted: false,
                    }],
                    unattributed: (0, 0),
                    std_caches: (0, 0),
                },
                leak_tests: vec![leak, clean, crashed],
                ..BinaryOutcome::default()
            }],
        }
    }

    #[test]
    fn leaks_fail_errors_error_and_clean_tests_pass() {
        let xml = render(&outcome());
        assert!(xml.starts_with("<?xml"), "{xml}");
        // The name is escaped, never raw markup.
        assert!(
            xml.contains("handle &lt;request&gt; &amp; &quot;more&quot;"),
            "{xml}"
        );
        assert!(xml.contains(
            "<failure message=\"leaks 1024.0 B/iter (1.00 blocks/iter) at src/lib.rs:10\" type=\"leak\">"
        ), "{xml}");
        assert!(
            xml.contains("tests/leak.rs:5 in leak::t::{{closure}}"),
            "{xml}"
        );
        assert!(
            xml.contains("<property name=\"bytes_per_iter\" value=\"1024.0\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<error message=\"killed by signal 6\""),
            "{xml}"
        );
        assert!(xml.contains("session growth at src/lib.rs:7"), "{xml}");
        assert!(xml.contains("tests=\"4\""), "{xml}");
        assert!(xml.contains("failures=\"2\""), "{xml}");
        assert!(xml.contains("errors=\"1\""), "{xml}");
        // A run without times (one merged from JSON) writes none.
        assert!(!xml.contains("time="), "{xml}");
    }

    #[test]
    fn each_testcase_has_its_process_time_and_a_suite_their_sum() {
        let mut run = outcome();
        let b = &mut run.binaries[0];
        for (t, ms) in b.leak_tests.iter_mut().zip([1500, 250, 40]) {
            t.duration = Some(Duration::from_millis(ms));
        }
        b.session_duration = Some(Duration::from_millis(2000));
        let xml = render(&run);
        let case = |name: &str| {
            let start = xml
                .find(&format!("<testcase name=\"{name}\""))
                .unwrap_or_else(|| panic!("no testcase {name}: {xml}"));
            xml[start..]
                .split('>')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(case("clean").contains("time=\"0.250\""), "{xml}");
        assert!(case("crashes").contains("time=\"0.040\""), "{xml}");
        assert!(case(SESSION_ENTRY).contains("time=\"2.000\""), "{xml}");
        assert!(
            xml.contains("<testsuite name=\"leak\"") && xml.contains("time=\"3.790\""),
            "{xml}"
        );

        // One process without a time: the suite has none, its cases keep
        // theirs.
        run.binaries[0].session_duration = None;
        let xml = render(&run);
        assert!(xml.contains("time=\"0.250\""), "{xml}");
        assert!(!xml.contains("time=\"3.790\""), "{xml}");
        assert!(!xml.contains("time=\"2.000\""), "{xml}");
    }
}
