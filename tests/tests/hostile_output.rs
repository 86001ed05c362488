//! `cargo leakcheck` on the `hostile` fixture, whose panic messages, test
//! output, test names (a runner of its own) and a source file's name hold
//! GitHub Actions workflow commands, escape sequences, markdown and HTML.
//! No line of any output may start a workflow command or hold a control
//! character, the step summary renders no markup, the XML reports are
//! well-formed; and lines a child process prints that read as libtest's do
//! not count as tests.

use std::path::Path;

use leakcheck_rt::{Frame, FrameKind, Snapshot, Trace, Traceback};
use leakcheck_tests::{
    Run, cargo_leakcheck_bin, cargo_leakcheck_with, clean_command, fixture, serial, workspace_root,
};

/// What a hostile test prints, in its parts.
const PARTS: [&str; 4] = [
    "::stop-commands::tok",
    "##[set-output name=x]",
    "![img](http://x)",
    "<script>alert(1)</script>",
];

/// Every line is inert: no workflow command but leakcheck's own
/// annotations (`::error `, `::notice `), no `##[`, no control character.
fn assert_inert(what: &str, text: &str) {
    for line in text.lines() {
        let body = line.trim_start();
        assert!(
            !body.starts_with("::")
                || body.starts_with("::error ")
                || body.starts_with("::notice "),
            "{what}: a workflow command: {line:?}"
        );
        assert!(
            !line.contains("##["),
            "{what}: a workflow command: {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{what}: a control character: {line:?}"
        );
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

/// A run with every output, under GitHub Actions, `CARGO_TERM_COLOR` as
/// `color` says.
fn run_hostile(dir: &Path, args: &[&str], color: &str) -> Run {
    let summary = dir.join("summary.md");
    let junit = dir.join("junit.xml");
    let html = dir.join("report.html");
    let mut all = vec![
        "--json",
        "-",
        "--junit",
        junit.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ];
    all.extend(args);
    let root = fixture("hostile");
    cargo_leakcheck_with(
        "hostile",
        &all,
        &[
            ("GITHUB_ACTIONS", Path::new("true")),
            ("GITHUB_STEP_SUMMARY", &summary),
            ("GITHUB_WORKSPACE", &root),
            ("CARGO_TERM_COLOR", Path::new(color)),
        ],
    )
}

#[test]
fn nothing_a_test_prints_becomes_a_command_an_escape_or_markup() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // `--color never` beats `CARGO_TERM_COLOR=always`: no escape at all.
    for (args, color) in [
        (&["--color", "never"][..], "always"),
        (&["-v"][..], "never"),
    ] {
        let out = run_hostile(dir.path(), args, color);
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        // What the tests printed is in the report, inert.
        assert!(
            out.stderr.contains("\\::stop-commands::tok"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("\\u{1b}[31m"), "{}", out.stderr);
        assert_inert("stderr", &out.stderr);
        assert_inert("stdout (JSON)", &out.stdout);
        // The annotations (on stderr with `--json -`) are one command each.
        let commands: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("::")).collect();
        assert!(!commands.is_empty(), "{}", out.stderr);
        for command in &commands {
            let (_, message) = command["::error ".len()..].split_once("::").unwrap();
            for shown in message.split("%0A") {
                assert!(!shown.trim_start().starts_with("::"), "{command}");
            }
        }
        // The session growth is annotated at the oddly named file.
        assert!(
            commands
                .iter()
                .any(|c| c.starts_with("::error file=tests/odd/%3A%3Ax ##\\[set-output")),
            "{}",
            out.stderr
        );
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let error = report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "leak_test_panics")
            .map(|t| t["error"].as_str().unwrap().to_owned())
            .unwrap();
        // JSON keeps the message as it was.
        assert!(error.contains("boom\n::stop-commands::tok"), "{error}");
    }

    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert_inert("step summary", &summary);
    for row in summary.lines().filter(|l| l.starts_with("| ")) {
        let own = row.replace("<code>", "").replace("</code>", "");
        for c in ['<', '>', '[', ']', '`', '!', '&'] {
            assert!(!unescaped(&own, c), "markup {c:?} in {row}");
        }
        assert!(!own.contains("http:"), "an autolink in {row}");
    }
    assert!(
        summary.contains("\\:\\:stop-commands\\:\\:tok"),
        "{summary}"
    );

    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert_inert("JUnit", &junit);
    let doc = roxmltree::Document::parse(&junit).expect("well-formed JUnit XML");
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    for part in PARTS {
        assert!(text.contains(part), "{part} not in the JUnit report's text");
    }
    assert!(
        doc.descendants().any(|n| n.has_tag_name("testcase")
            && n.attribute("name")
                .is_some_and(|name| name.starts_with("odd ##[set-output name=x]"))),
        "{junit}"
    );

    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_inert("HTML", &html);
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&html, options).expect("well-formed HTML");
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    for part in PARTS {
        assert!(text.contains(part), "{part} not in the HTML report's text");
    }
}

#[test]
fn lines_a_child_prints_as_libtest_s_count_no_tests() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = run_hostile(dir.path(), &[], "never");
    // `panics` lists six tests, the runner of its own two; the child
    // printed two test lines and a summary of 99.
    let summary = out
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("Summary"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        summary.contains("] 8 tests run: 5 passed, 3 failed;"),
        "{summary}"
    );
}

#[test]
fn a_snapshot_s_names_are_inert_in_diff() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "::stop-commands::tok\n##[set-output name=x]\x1b[31m";
    let frame = Frame {
        file: format!("src/{hostile}.rs"),
        line: 3,
        function: hostile.to_owned(),
        kind: FrameKind::Workspace,
    };
    let paths: Vec<_> = (1..=3u64)
        .map(|i| {
            let trace = Trace {
                traceback: Traceback::new(vec![frame.clone()]),
                size: i * 1_000_000,
                count: i * 1000,
            };
            // As a service's `dump_every` writes them: one process, in order.
            let mut json: serde_json::Value =
                serde_json::from_str(&Snapshot::from_traces(vec![trace], 1).to_json()).unwrap();
            json["origin"] = serde_json::json!({
                "leakcheck": env!("CARGO_PKG_VERSION"),
                "pid": 1,
                "process_started_ms": 1_000,
                "seq": i,
                "uptime_ms": i * 60_000,
                "taken_at_ms": 1_000 + i * 60_000,
            });
            let path = dir.path().join(format!("{i}.json"));
            std::fs::write(&path, json.to_string()).unwrap();
            path
        })
        .collect();
    // Three snapshots are judged as a series; two are compared.
    for files in [&paths[..], &paths[..2]] {
        let out: Run = clean_command(cargo_leakcheck_bin(), &workspace_root())
            .args(["leakcheck", "diff", "-v"])
            .args(files)
            .output()
            .expect("cargo-leakcheck runs")
            .into();
        assert!(out.stderr.contains("stop-commands"), "{}", out.stderr);
        assert_inert("diff", &out.stderr);
    }
}
