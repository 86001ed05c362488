//! The exit codes are written down in four places besides the constants in
//! `errors.rs`: its module docs, the `--help` text, README.md and
//! cargo-leakcheck/README.md. Each must list every code, name the
//! constants it names with their values, and give the precedence that
//! `exit_codes::worst` applies.

use std::path::Path;
use std::process::Command;

use cargo_leakcheck::errors::exit_codes::{self, *};

/// Every code, by its constant's name.
const CODES: [(&str, i32); 10] = [
    ("OK", OK),
    ("LEAK_FOUND", LEAK_FOUND),
    ("USAGE", USAGE),
    ("BUILD_FAILED", BUILD_FAILED),
    ("BINARY_FAILED", BINARY_FAILED),
    ("NO_TESTS", NO_TESTS),
    ("INTERRUPTED", INTERRUPTED),
    ("TERMINATED", TERMINATED),
    ("HANGUP", HANGUP),
    ("QUIT", QUIT),
];

fn all_codes() -> Vec<i32> {
    let mut codes: Vec<i32> = CODES.iter().map(|&(_, c)| c).collect();
    codes.sort();
    codes
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The integers in `text`, in order.
fn numbers(text: &str) -> Vec<i32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

fn sorted(mut codes: Vec<i32>) -> Vec<i32> {
    codes.sort();
    codes
}

/// Checks a precedence, highest first, as groups of codes that rank alike.
fn assert_precedence(groups: &[Vec<i32>], what: &str) {
    assert_eq!(
        sorted(groups.concat()),
        all_codes(),
        "{what}: every code once in {groups:?}"
    );
    for group in groups {
        for &a in group {
            for &b in group {
                assert_eq!(exit_codes::worst(a, b), a, "{what}: {a} and {b} rank alike");
            }
        }
    }
    for pair in groups.windows(2) {
        let (high, low) = (pair[0][0], pair[1][0]);
        assert_eq!(exit_codes::worst(high, low), high, "{what}: {high} > {low}");
        assert_eq!(exit_codes::worst(low, high), high, "{what}: {high} > {low}");
    }
}

/// `130/143 > 2 > …` (the READMEs) or `130/143, 2, …` (the help text)
/// after `When several apply` in `text`.
fn precedence_after_when_several_apply(text: &str, separator: &str) -> Vec<Vec<i32>> {
    let at = text.find("When several apply").expect("a precedence line");
    let line = text[at..].lines().next().unwrap();
    let (_, order) = line.split_once(['.', ':', ',']).unwrap();
    let order = order.trim_start_matches(" the order is");
    order
        .split(separator)
        .map(|group| numbers(group.split(':').next().unwrap()))
        .filter(|g| !g.is_empty())
        .collect()
}

/// The first cells of the markdown table under the heading `heading`.
fn table_rows<'a>(markdown: &'a str, heading: &str) -> Vec<Vec<&'a str>> {
    let start = markdown.find(heading).expect("the exit-code heading");
    markdown[start..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .filter(|cells: &Vec<&str>| cells[0].starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

#[test]
fn the_help_text_lists_every_code_in_the_order_worst_applies() {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-leakcheck"))
        .args(["leakcheck", "--help"])
        .env_remove("CARGO_TERM_COLOR")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    let section = &help[help.find("Exit codes:").expect("an exit-code section")..];
    let section = &section[..section.find("When several apply").unwrap()];
    let listed: Vec<i32> = section
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .flat_map(|l| numbers(l.split("  ").next().unwrap()))
        .collect();
    assert_eq!(sorted(listed), all_codes(), "{section}");
    let groups = precedence_after_when_several_apply(&help, ",");
    assert_precedence(&groups, "--help");
}

#[test]
fn the_readmes_list_every_code_in_the_order_worst_applies() {
    for (file, heading) in [
        ("../README.md", "### Exit codes"),
        ("README.md", "## Exit codes"),
    ] {
        let text = read(file);
        let rows = table_rows(&text, heading);
        let listed: Vec<i32> = rows.iter().flat_map(|r| numbers(r[0])).collect();
        assert_eq!(sorted(listed), all_codes(), "{file}");
        let after = &text[text.find(heading).unwrap()..];
        assert_precedence(&precedence_after_when_several_apply(after, ">"), file);
    }
}

#[test]
fn the_constants_named_in_the_readme_have_their_values() {
    let text = read("README.md");
    let rows = table_rows(&text, "## Exit codes");
    let mut named = 0;
    for row in rows {
        let names: Vec<&str> = row[1].split(", ").map(|n| n.trim_matches('`')).collect();
        let values: Vec<i32> = names
            .iter()
            .map(|n| {
                CODES
                    .iter()
                    .find(|(name, _)| name == n)
                    .unwrap_or_else(|| panic!("no constant `{n}`"))
                    .1
            })
            .collect();
        assert_eq!(values, numbers(row[0]), "{row:?}");
        named += names.len();
    }
    assert_eq!(named, CODES.len());
}

#[test]
fn the_module_docs_give_the_order_worst_applies() {
    let source = read("src/errors.rs").replace("\n/// ", " ");
    let start = source
        .find("in this order:")
        .expect("the precedence in the docs");
    let end = start + source[start..].find("(0).").expect("the end of the order") + 4;
    let groups: Vec<Vec<i32>> = source[start..end]
        .split(" > ")
        .map(|part| {
            // The value of each constant is written after its link: `(130)`.
            part.split('(')
                .skip(1)
                .filter_map(|p| p.split_once(')'))
                .filter_map(|(n, _)| n.parse().ok())
                .collect()
        })
        .collect();
    assert_precedence(&groups, "errors.rs");
}
