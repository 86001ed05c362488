//! The CI outputs of `cargo leakcheck` on the `ci` fixture (a leak on the
//! workspace's own line, a leak inside smallvec called from the workspace,
//! a plateau, session growth): JUnit XML, GitHub Actions annotations and
//! step summary, and the HTML report.

use std::path::Path;

use leakcheck_rt::report::{Report, SiteVerdict};
use leakcheck_tests::{Run, cargo_leakcheck_with, fixture, line_of, serial};

/// `cargo leakcheck ARGS` on a fixture with extra environment.
fn run(fixture_name: &str, args: &[&str], env: &[(&str, &Path)]) -> Run {
    cargo_leakcheck_with(fixture_name, args, env)
}

fn ci_line(marker: &str) -> u32 {
    line_of("ci", "src/lib.rs", marker)
}

fn element<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn property(case: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    element(case, "properties")?
        .children()
        .find(|p| p.attribute("name") == Some(name))
        .and_then(|p| p.attribute("value"))
        .map(str::to_owned)
}

#[test]
fn junit_has_a_failing_testcase_per_leak_naming_its_line_and_passing_ones() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = run("ci", &["--junit", junit.to_str().unwrap()], &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some("ci-fixture::suite"))
        .unwrap_or_else(|| panic!("no testsuite for the binary:\n{xml}"));
    let case = |name: &str| {
        suite
            .children()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no testcase {name}:\n{xml}"))
    };

    let own = case("keeps_every_request");
    assert_eq!(own.attribute("classname"), Some("ci-fixture::suite"));
    let failure = element(own, "failure").expect("a leak is a failure");
    let message = failure.attribute("message").unwrap();
    let at = format!("src/lib.rs:{}", ci_line("OWN LEAK"));
    assert!(message.contains(&at), "{message}");
    assert!(message.contains("512.0 B/iter"), "{message}");
    let text = failure.text().unwrap_or_default();
    assert!(
        text.contains(&format!("{at}  (512.0 B/iter, 1.00 blocks/iter)")),
        "{text}"
    );
    assert!(
        text.contains("in suite::keeps_every_request::{{closure}}"),
        "{text}"
    );
    assert_eq!(property(own, "iters").as_deref(), Some("2000"));
    assert_eq!(property(own, "bytes_per_iter").as_deref(), Some("512.0"));
    assert_eq!(property(own, "blocks_per_iter").as_deref(), Some("1.00"));
    assert_eq!(property(own, "size_diff").as_deref(), Some("1024000"));
    assert_eq!(property(own, "count_diff").as_deref(), Some("2000"));

    let registry = element(case("spills_into_smallvec"), "failure").unwrap();
    assert!(
        registry
            .attribute("message")
            .unwrap()
            .contains("smallvec-1.16.6/src/lib.rs:"),
        "{xml}"
    );

    let plateau = case("warm_cache_is_a_plateau");
    assert!(
        plateau
            .children()
            .all(|c| !c.has_tag_name("failure") && !c.has_tag_name("error")),
        "a plateau passes:\n{xml}"
    );
    assert_eq!(property(plateau, "verdict").as_deref(), Some("plateau"));

    let session = case("(session)");
    let growth = element(session, "failure").expect("session growth is a failure");
    let message = growth.attribute("message").unwrap();
    assert!(
        message.contains(&format!("src/lib.rs:{}", ci_line("SESSION GROWTH"))),
        "{message}"
    );
    assert!(
        growth
            .text()
            .unwrap_or_default()
            .contains("plain_00, plain_01, plain_02, plain_03")
    );
    assert_eq!(property(session, "tests").as_deref(), Some("4"));

    assert_eq!(suite.attribute("tests"), Some("4"));
    assert_eq!(suite.attribute("failures"), Some("3"));
    assert_eq!(suite.attribute("errors"), Some("0"));
}

#[test]
fn junit_reports_a_crash_as_an_error_and_the_fine_binary_as_passing() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = run(
        "crashy",
        &[
            "--test",
            "a_fine",
            "--test",
            "b_aborts",
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = |name: &str| {
        doc.root_element()
            .children()
            .find(|n| n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no suite {name}:\n{xml}"))
    };
    let aborts = suite("crashy::b_aborts");
    let session = aborts
        .children()
        .find(|n| n.attribute("name") == Some("(session)"))
        .unwrap();
    let error = element(session, "error").expect("a crash is an error");
    assert!(
        error.attribute("message").unwrap().contains("SIGABRT"),
        "{xml}"
    );
    let fine = suite("crashy::a_fine");
    assert_eq!(fine.attribute("failures"), Some("0"), "{xml}");
    assert_eq!(fine.attribute("errors"), Some("0"), "{xml}");
    assert!(
        fine.children()
            .any(|n| n.attribute("name") == Some("fine_is_clean")),
        "{xml}"
    );
}

#[test]
fn github_actions_gets_annotations_at_repository_lines_and_a_step_summary() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    // The repository is the fixtures' directory: paths gain `ci/`.
    let repo = fixture("ci").parent().unwrap().to_owned();
    let out = run(
        "ci",
        &[],
        &[
            ("GITHUB_ACTIONS", Path::new("true")),
            ("GITHUB_WORKSPACE", &repo),
            ("GITHUB_STEP_SUMMARY", &summary),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("::error ")),
        "{}",
        out.stdout
    );
    assert!(lines.len() <= 10, "{}", out.stdout);
    // Worst first: 1000 KiB on the workspace's own line. The binary's
    // `::` is escaped in the title, where a bare `:` would end it.
    let own = format!(
        "::error file=ci/src/lib.rs,line={},title=leak in ci-fixture%3A%3Asuite keeps_every_request::512.0 B/iter",
        ci_line("OWN LEAK")
    );
    assert!(lines[0].starts_with(&own), "{}", out.stdout);
    // The smallvec leak points at the workspace line that called into it.
    let registry = lines
        .iter()
        .find(|l| l.contains("spills_into_smallvec"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        registry.starts_with(&format!(
            "::error file=ci/src/lib.rs,line={},",
            ci_line("CALLS REGISTRY")
        )),
        "{registry}"
    );
    assert!(
        registry.contains("retained at smallvec-1.16.6/src/lib.rs:"),
        "{registry}"
    );
    assert!(registry.contains("%0Acall path:%0A"), "{registry}");
    let growth = lines
        .iter()
        .find(|l| l.contains("title=session growth in ci-fixture%3A%3Asuite::"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        growth.starts_with(&format!(
            "::error file=ci/src/lib.rs,line={},",
            ci_line("SESSION GROWTH")
        )),
        "{growth}"
    );

    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n## cargo leakcheck\n"),
        "{text}"
    );
    assert!(text.contains("**2 new leaks**"), "{text}");
    assert!(
        text.contains(&format!(
            "| **LEAK** | ci-fixture\\:\\:suite | keeps\\_every\\_request | <code>src/lib.rs:{}</code> | 512.0 | 1.00 |",
            ci_line("OWN LEAK")
        )),
        "{text}"
    );
    assert!(
        text.contains("| clean | ci-fixture\\:\\:suite | warm\\_cache\\_is\\_a\\_plateau |"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "| **GROWTH** | ci-fixture\\:\\:suite | <code>src/lib.rs:{}</code> |",
            ci_line("SESSION GROWTH")
        )),
        "{text}"
    );

    // Outside GitHub Actions, stdout stays empty.
    let out = run("ci", &["-q"], &[]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "");
}

/// Checks what every HTML report must be: one well-formed document that
/// loads nothing from anywhere.
fn check_self_contained(html: &str) -> roxmltree::Document<'_> {
    for banned in [
        "http://", "https://", "src=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    assert!(html.starts_with("<!DOCTYPE html>\n<html"));
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(html, options).expect("well-formed markup")
}

/// Each plot: an `<svg>` with the series and its lower envelope.
fn plots<'a>(doc: &'a roxmltree::Document<'a>) -> Vec<roxmltree::Node<'a, 'a>> {
    let plots: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg") && n.attribute("class") == Some("plot"))
        .collect();
    for svg in &plots {
        let lines: Vec<&str> = svg
            .children()
            .filter(|c| c.has_tag_name("polyline"))
            .filter_map(|c| c.attribute("class"))
            .collect();
        assert_eq!(lines, ["retained", "envelope"]);
    }
    plots
}

#[test]
fn the_html_report_shows_every_site_with_its_plot() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("report.html");
    let json_path = dir.path().join("report.json");
    let out = run(
        "ci",
        &[
            "--html",
            html_path.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();
    let doc = check_self_contained(&html);

    // The JSON carries each judged site's series: one point per checkpoint,
    // the last at the end of the loop with the site's final figure.
    let mut sites = 0;
    for t in &report.tests {
        for s in &t.sites {
            sites += 1;
            assert!(s.series.len() >= 3, "{s:?}");
            assert_eq!(*s.series.last().unwrap(), [t.iters as i64, s.size_diff]);
            assert!(s.series.windows(2).all(|w| w[0][0] < w[1][0]), "{s:?}");
            assert!(
                html.contains(&format!("<code>{}:{}</code>", s.file, s.line)),
                "{}:{} is not on the page",
                s.file,
                s.line
            );
        }
        assert!(html.contains(&t.name), "{} is not on the page", t.name);
    }
    assert!(sites >= 3, "{:#?}", report.tests);
    assert_eq!(plots(&doc).len(), sites);

    // Verdicts, names escaped, call paths, the session section.
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(
        text.contains("smallvec::SmallVec<A>::try_grow"),
        "the function name survives"
    );
    assert!(html.contains("SmallVec&lt;A&gt;"), "and is escaped");
    assert!(text.contains("plateau"));
    assert!(text.contains("The lower envelope levels off"));
    assert!(text.contains("The lower envelope keeps rising"));
    assert!(text.contains("suite::keeps_every_request::{{closure}}"));
    assert!(text.contains("Session sites"));
    assert!(text.contains("no checkpoints to plot"));
    assert!(text.contains(&format!("src/lib.rs:{}", ci_line("SESSION GROWTH"))));
    assert!(text.contains("plain_03"));
    let leak_site = report
        .tests
        .iter()
        .flat_map(|t| &t.sites)
        .find(|s| s.line == ci_line("OWN LEAK"))
        .unwrap();
    assert_eq!(leak_site.verdict, SiteVerdict::Leak);
}

/// Every rate on `html` per `per` (`iter`, `interval`) carries the unit a
/// person reads: `512.0 B/iter` below a KiB, `4.9 MiB/interval` above, never
/// `5175296.0 B/interval` or a bare number under a `B/…` heading.
fn assert_rates_read_in_units(html: &str, per: &str) {
    let unit = format!("B/{per}");
    let mut rates = 0;
    for (at, _) in html.match_indices(&unit) {
        let before = &html[..at];
        if before.ends_with("Ki") || before.ends_with("Mi") {
            rates += 1;
            continue;
        }
        let number = before
            .strip_suffix(' ')
            .and_then(|b| b.rsplit(|c: char| c != '.' && !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<f64>().ok());
        match number {
            Some(n) => assert!(n < 1024.0, "{n} {unit} is not in its unit"),
            None => panic!(
                "{unit} without its figure: {}",
                &before[before.len().saturating_sub(80)..]
            ),
        }
        rates += 1;
    }
    assert!(rates > 0, "no rate per {per} on the page");
}

/// What a reviewer reads first: one new leak, session growth and a clean
/// leak test (the smallvec leak skipped), counted and listed failures first
/// in an overview before any test's details, rates in their unit, and the
/// plateau explained by the verdict's own rule.
#[test]
fn the_html_report_opens_with_an_overview_of_the_verdicts_failures_first() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("report.html");
    let out = run(
        "ci",
        &[
            "--html",
            html_path.to_str().unwrap(),
            "--",
            "--skip",
            "spills_into_smallvec",
        ],
        &[],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("leakcheck: 1 new leak, 1 clean leak test, session growth at 1 site"),
        "{}",
        out.stderr
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    let doc = check_self_contained(&html);

    // The overview, before the first test's details.
    let overview = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("overview"))
        .expect("an overview");
    let first_card = doc
        .descendants()
        .find(|n| n.has_tag_name("section") && n.attribute("id") == Some("test-0"))
        .expect("a leak test's card");
    assert!(overview.range().end <= first_card.range().start);
    let text = |n: roxmltree::Node<'_, '_>| -> String {
        n.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect()
    };
    let counts: Vec<String> = overview
        .descendants()
        .filter(|n| n.has_tag_name("li"))
        .map(text)
        .collect();
    assert_eq!(
        counts[..3],
        ["1 new leak", "1 session growth site", "1 clean leak test"],
        "the counts, failures first"
    );
    // Then the one-time costs (warm-up, the statics' first allocations).
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts[3].contains(" one-time cost"), "{counts:?}");

    // A row per leak test and session growth site: failures first.
    let rows: Vec<String> = overview
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .skip(1)
        .map(text)
        .collect();
    let growth = format!("src/lib.rs:{}", ci_line("SESSION GROWTH"));
    let own = format!("src/lib.rs:{}", ci_line("OWN LEAK"));
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows[0].starts_with("NEW LEAK"), "{rows:#?}");
    assert!(rows[0].contains("keeps_every_request"), "{rows:#?}");
    assert!(
        rows[0].contains(&format!("512.0 B/iter at {own}")),
        "{rows:#?}"
    );
    assert!(rows[0].contains("no accepted snapshot"), "{rows:#?}");
    assert!(rows[1].starts_with("SESSION GROWTH"), "{rows:#?}");
    assert!(rows[1].contains(&growth), "{rows:#?}");
    assert!(rows[1].contains("left by 4 tests"), "{rows:#?}");
    assert!(rows[2].starts_with("clean"), "{rows:#?}");
    assert!(rows[2].contains("warm_cache_is_a_plateau"), "{rows:#?}");
    // Each row links to its details.
    for link in overview.descendants().filter(|n| n.has_tag_name("a")) {
        let target = link.attribute("href").unwrap().trim_start_matches('#');
        assert!(
            doc.descendants().any(|n| n.attribute("id") == Some(target)),
            "{target} is not on the page"
        );
    }
    // The cards too: the leak before the clean test.
    let leak_card = html.find("keeps_every_request</h3>").unwrap();
    let clean_card = html.find("warm_cache_is_a_plateau</h3>").unwrap();
    assert!(leak_card < clean_card);

    assert_rates_read_in_units(&html, "iter");
    let all = text(doc.root());
    assert!(all.contains("512.0 B/iter"), "the leak's rate");
    assert!(all.contains("33.0 B/iter"), "the plateau's rate");
    // The plateau says the rule the verdict applies: less than a quarter
    // of the growth after the first third.
    assert!(
        all.contains(
            "The lower envelope levels off: only 0% of its growth came after the first third \
             of the run, less than a quarter,"
        ),
        "{all}"
    );
    assert!(all.contains("at least a quarter in each"), "{all}");
}
