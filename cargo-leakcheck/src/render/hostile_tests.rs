//! Every output of a run whose every text a test controls is hostile: a
//! panic message, a test name, a file and function name, the output. No
//! line of any output may start a workflow command, carry a control
//! character leakcheck did not write, render markup in the step summary, or
//! make the XML reports not well-formed.

use leakcheck_format::report::{SessionSite, SiteReport, SiteVerdict, TestReport, TestVerdict};

use super::{github, html, human, json, junit};
use crate::cli::{SnapshotMode, Verbosity};
use crate::outcome::{BinaryOutcome, LeakStatus, LeakTestOutcome, RunOutcome, SessionAnalysis};
use crate::ui::Paint;

/// What a test can put in a field: commands in both forms, an escape
/// sequence, markdown and HTML.
const HOSTILE: &str = "x\n::stop-commands::tok\n  ::add-mask::secret\r\n##[set-output name=x]\
    \x1b[31m\x1b]0;title\x07 ![img](http://x) `tick` <script>alert(1)</script> | a & b \u{202e}";

/// A one-line hostile value (a name from a `--list` line): no newline,
/// but a command at its start and everything else.
const NAME: &str = "::add-mask::x ##[error] `a` ![i](https://x) <b>\x1b[2J\u{9b}31m";

fn site(file: &str) -> SiteReport {
    SiteReport {
        retained_by: Vec::new(),
        file: file.into(),
        line: 7,
        function: HOSTILE.into(),
        verdict: SiteVerdict::Leak,
        bytes_per_iter: 1024.0,
        blocks_per_iter: 1.0,
        size_diff: 102_400,
        count_diff: 100,
        traceback: vec![HOSTILE.into(), NAME.into()],
        series: vec![[10, 10240], [20, 20480], [30, 30720]],
        caller: None,
    }
}

fn leak_test(status: LeakStatus, file: &str) -> LeakTestOutcome {
    LeakTestOutcome {
        status,
        report: TestReport {
            binary: NAME.into(),
            name: NAME.into(),
            verdict: match status {
                LeakStatus::Leak | LeakStatus::Accepted => TestVerdict::Leak,
                _ => TestVerdict::Error,
            },
            iters: 100,
            sites: vec![site(file)],
            error: (status == LeakStatus::Failed).then(|| HOSTILE.to_owned()),
            warnings: vec![HOSTILE.into()],
        },
        detail: Some(HOSTILE.into()),
        duration: None,
        grown: false,
        snapshot: Vec::new(),
    }
}

fn session_site(growth: bool, file: &str) -> SessionSite {
    SessionSite {
        retained_by: Vec::new(),
        binary: NAME.into(),
        file: file.into(),
        line: 9,
        function: HOSTILE.into(),
        size_diff: 4096,
        count_diff: 3,
        tests: vec![NAME.into(), HOSTILE.into(), "plain".into()],
        growth,
        known: (!growth).then(|| HOSTILE.to_owned()),
        accepted: false,
    }
}

/// A run with hostile text in every field, its sites in `file`.
fn hostile(file: &str) -> RunOutcome {
    RunOutcome {
        binaries: vec![
            BinaryOutcome {
                binary: NAME.into(),
                instrumented: true,
                failed_tests: vec![NAME.into(), HOSTILE.into()],
                detail: Some(HOSTILE.into()),
                session: SessionAnalysis {
                    sites: vec![session_site(true, file), session_site(false, file)],
                    ..SessionAnalysis::default()
                },
                leak_tests: vec![
                    leak_test(LeakStatus::Leak, file),
                    leak_test(LeakStatus::Failed, file),
                    leak_test(LeakStatus::Accepted, file),
                ],
                ..BinaryOutcome::default()
            },
            BinaryOutcome {
                binary: "crashed".into(),
                fault: Some(HOSTILE.into()),
                detail: Some(HOSTILE.into()),
                ..BinaryOutcome::default()
            },
        ],
    }
}

/// A hostile source file name (it may hold anything but `/` and NUL).
const FILE: &str = "src/::x ##[y] `z` ![i](http:x) <s>\x1b[1m.rs";

/// The sequences leakcheck's own colours are made of.
fn strip_own_colour(text: &str) -> String {
    let mut out = text.to_owned();
    for sgr in [
        "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m",
    ] {
        out = out.replace(sgr, "");
    }
    out
}

/// No line starts a workflow command or holds the older form, and no
/// control character but a newline (or a tab, where `tab` allows it).
fn assert_inert(what: &str, text: &str, tab: bool) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a workflow command: {line:?}"
        );
        assert!(
            !line.contains("##["),
            "{what}: a workflow command: {line:?}"
        );
        assert!(
            !line.chars().any(|c| (c.is_control() && !(tab && c == '\t'))
                || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{what}: a control character: {line:?}"
        );
    }
}

#[test]
fn the_human_report_is_inert_at_every_verbosity() {
    for verbosity in [Verbosity::Quiet, Verbosity::Normal, Verbosity::Verbose] {
        let style = |on| human::Style {
            paint: Paint::new(on),
            verbosity,
            mode: SnapshotMode::Check,
        };
        let plain = human::render(&hostile(FILE), style(false));
        assert_inert("human report", &plain, false);
        // Coloured, the only escape sequences are leakcheck's own.
        let coloured = human::render(&hostile(FILE), style(true));
        assert_eq!(strip_own_colour(&coloured), plain);
        // What the test wrote is still there to read, a line per field.
        assert!(plain.contains("x\\n::stop-commands::tok\\n"), "{plain}");
        assert!(plain.contains("\\u{1b}[31m"), "{plain}");
        assert!(plain.contains("\\::add-mask::x ##\\[error]"), "{plain}");
    }
    // Relayed output keeps its lines, each inert.
    let normal = human::render(
        &hostile(FILE),
        human::Style {
            paint: Paint::new(false),
            verbosity: Verbosity::Normal,
            mode: SnapshotMode::Check,
        },
    );
    assert!(
        normal.contains("\n      \\::stop-commands::tok\n"),
        "{normal}"
    );
}

#[test]
fn status_lines_are_inert() {
    let line = crate::ui::status_line(
        &Paint::new(false),
        crate::ui::Status::Fail,
        std::time::Duration::ZERO,
        NAME,
        HOSTILE,
    );
    assert_inert("status line", &line, false);
    assert_eq!(line.lines().count(), 1, "{line}");
}

#[test]
fn annotations_are_one_command_each_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("src")).unwrap();
    let file = "src/::x ##[y] `z` ![i](http:x) <s>.rs";
    std::fs::write(root.path().join(file), "").unwrap();
    let text = github::annotations(&hostile(file), root.path(), root.path());
    let lines: Vec<&str> = text.lines().collect();
    // A leak site and a session growth site.
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        assert!(line.starts_with("::error "), "{line}");
        // The command's own `::` pair, then the message: none further in
        // the properties.
        let (props, message) = line["::error ".len()..].split_once("::").unwrap();
        assert!(props.starts_with("file=src/%3A%3Ax ##\\[y]"), "{props}");
        assert!(!message.contains(['\n', '\r']), "{message}");
        assert!(!line.contains("##["), "{line}");
        assert!(!line.chars().any(char::is_control), "{line:?}");
        // The message's lines, as the runner shows them, start no command.
        for shown in message.split("%0A") {
            assert!(!shown.trim_start().starts_with("::"), "{shown}");
        }
    }
}

/// `c` occurs in `line` outside a backslash escape.
fn unescaped(line: &str, c: char) -> bool {
    let mut escaped = false;
    for ch in line.chars() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == c {
            return true;
        }
    }
    false
}

#[test]
fn the_step_summary_renders_no_markup() {
    let md = github::summary(&hostile(FILE), github::SUMMARY_LIMIT);
    assert_inert("step summary", &md, false);
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Result") && !l.starts_with("| ---"))
        .collect();
    assert_eq!(rows.len(), 5, "{md}");
    for row in rows {
        // leakcheck's own `<code>` only, no link, image, code span or
        // autolink; a table row's cells are its own.
        let own = row.replace("<code>", "").replace("</code>", "");
        for c in ['<', '>', '[', ']', '`', '!', '&'] {
            assert!(!unescaped(&own, c), "unescaped {c:?} in {row}");
        }
        assert!(!own.contains("http:") && !own.contains("https:"), "{row}");
        let cells = own.chars().filter(|&c| c == '|').count() - own.matches("\\|").count();
        let header = md
            .lines()
            .take_while(|l| *l != row)
            .filter(|l| l.starts_with("| Result"))
            .last()
            .unwrap();
        assert_eq!(cells, header.matches('|').count(), "{row}");
    }
}

#[test]
fn junit_is_well_formed_and_keeps_the_text() {
    let xml = junit::render(&hostile(FILE));
    assert_inert("JUnit", &xml, true);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let all_text: String = doc
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("");
    // Character references read back as the test's text; quick-junit
    // drops escape sequences and other control characters.
    assert!(all_text.contains("\n::stop-commands::tok\n"), "{all_text}");
    assert!(
        all_text.contains("##[set-output name=x] ![img](http://x)"),
        "{all_text}"
    );
    assert!(!all_text.contains('\x1b'), "{all_text}");
    assert!(all_text.contains("<script>"), "{all_text}");
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
}

#[test]
fn html_is_well_formed_and_keeps_the_text() {
    let page = html::Page::from_outcome(&hostile(FILE)).render();
    assert_inert("HTML", &page, true);
    let doc = roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("well-formed HTML");
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    let pre = doc
        .descendants()
        .find(|n| n.has_tag_name("pre"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(pre.contains("\n::stop-commands::tok\n"), "{pre}");
    assert!(pre.contains("##[set-output name=x]\\u{1b}[31m"), "{pre}");
}

#[test]
fn json_keeps_the_text_and_starts_no_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    json::write_run(&hostile(FILE), None, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_inert("JSON", &text, false);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tests = value["tests"].as_array().unwrap();
    assert!(tests.iter().any(|t| t["name"] == NAME), "{text}");
    assert!(tests.iter().any(|t| t["error"] == HOSTILE), "{text}");
}
