//! What a test controls (its names, panic messages, output, the names of
//! its source files) made inert for each kind of output, where it enters
//! that output: nothing a test prints may become a GitHub Actions workflow
//! command, a terminal escape sequence, markdown markup, or XML that is not
//! well-formed.
//!
//! The Actions runner takes a line of a step's output as a command when,
//! less its leading whitespace, it starts with `::`, or when it holds
//! `##[` anywhere (the older form). A line of the terminal report or of a
//! markdown summary gets a backslash in front of such a command; the XML
//! and JSON reports, which a machine reads back, write one of its
//! characters as a character reference or a `\u` escape, so that what they
//! hold is unchanged. Control characters (ESC, a carriage return, a newline
//! inside a one-line field, bidirectional overrides) are shown as escapes
//! (`\u{1b}`, `\r`, `\n`) everywhere but in JSON, whose own escapes keep
//! them.

use std::fmt::Write;

/// The older form of a workflow command, matched anywhere in a line.
const OLD_COMMAND: &str = "##[";

/// Characters shown as an escape: control characters (C0, DEL, C1) and
/// the bidirectional formatting characters, which reorder what a terminal
/// or a browser shows.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `c` as text: `\n`, `\r`, `\t`, else `\u{1b}`.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Where `line`, less its leading whitespace, starts with `::`.
fn command_start(line: &str) -> Option<usize> {
    let body = line.trim_start();
    body.starts_with("::").then(|| line.len() - body.len())
}

/// One line of text from a test for the terminal (the human report, the
/// status lines, relayed output): every control character as an escape
/// (so a newline is `\n`), a backslash before a workflow command.
/// Multi-line text is given a line at a time.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    if out.contains(OLD_COMMAND) {
        out = out.replace(OLD_COMMAND, "##\\[");
    }
    if let Some(at) = command_start(&out) {
        out.insert(at, '\\');
    }
    out
}

/// Text from a test for markdown (the step summary), as plain text in a
/// table cell: a backslash before every character that can start inline
/// markup in GitHub's markdown (emphasis, strikethrough, code spans, links
/// and images, HTML, entities, math, a cell's end), before the `:` of a
/// URL's scheme, the `@` of an address and the `.` after `www` (which it
/// would link by itself); control characters as escapes. CommonMark lets
/// any ASCII punctuation be escaped, and shows it as itself. A workflow
/// command is broken with the rest (`\:\:`, `##\[`).
pub fn markdown(s: &str) -> String {
    let mut plain = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            push_escape(&mut plain, c);
        } else {
            plain.push(c);
        }
    }
    let mut out = String::with_capacity(plain.len() * 2);
    for c in plain.chars() {
        let www = c == '.'
            && out.len() >= 3
            && out.as_bytes()[out.len() - 3..].eq_ignore_ascii_case(b"www");
        if www || MARKDOWN_SPECIAL.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What [`markdown`] escapes, besides the `.` after `www`.
const MARKDOWN_SPECIAL: &str = "\\`*_~[]!<>&|$:@";

/// A whole XML (JUnit) or HTML document whose markup is already escaped,
/// made well-formed and inert: a character XML forbids (C0 controls but
/// tab, newline and carriage return; DEL and C1 controls, which XML 1.0
/// discourages) and the bidirectional characters shown as escapes; `##[`
/// and a line's leading `::` written with a character reference (`&#35;`,
/// `&#58;`), which a parser reads back as the same text.
///
/// Only text and attribute values can hold these in the documents
/// leakcheck writes (no CDATA, no comments; an HTML report's own style
/// sheet starts no line with `::`).
pub fn xml_document(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    for c in doc.chars() {
        if is_hidden(c) && !matches!(c, '\t' | '\n' | '\r') {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    if out.contains(OLD_COMMAND) {
        out = out.replace(OLD_COMMAND, "#&#35;[");
    }
    let mut lines: Vec<String> = out.split('\n').map(str::to_owned).collect();
    for line in &mut lines {
        if let Some(at) = command_start(line) {
            line.replace_range(at..at + 1, "&#58;");
        }
    }
    lines.join("\n")
}

/// A whole JSON document (as serde_json writes it: control characters
/// below U+0020 already escaped, lines that start with whitespace and
/// punctuation) made inert: `##[`, which only a string can hold, with its
/// second `#` as `\u0023`; DEL, C1 controls and bidirectional characters
/// as `\u` escapes. A parser reads back the same text.
pub fn json_document(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    for c in doc.chars() {
        if is_hidden(c) && !matches!(c, '\t' | '\n' | '\r') {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    if out.contains(OLD_COMMAND) {
        out = out.replace(OLD_COMMAND, "#\\u0023[");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_is_one_inert_line() {
        assert_eq!(terminal("plain text"), "plain text");
        assert_eq!(
            terminal("boom\n::stop-commands::tok\n"),
            "boom\\n::stop-commands::tok\\n"
        );
        assert_eq!(terminal("  ::add-mask::x"), "  \\::add-mask::x");
        assert_eq!(
            terminal("a ##[set-output name=x]b"),
            "a ##\\[set-output name=x]b"
        );
        assert_eq!(terminal("\x1b[31mred\x1b[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(
            terminal("a\rb\tc\u{9b}d\u{202e}e"),
            "a\\rb\\tc\\u{9b}d\\u{202e}e"
        );
        // A command that the escapes would bring to the front.
        assert_eq!(terminal("\t::error::x"), "\\t::error::x");
    }

    #[test]
    fn markdown_text_has_no_markup() {
        assert_eq!(markdown("src/lib.rs (12)"), "src/lib.rs (12)");
        assert_eq!(
            markdown("![img](http://x) `a|b` <s>"),
            "\\!\\[img\\](http\\://x) \\`a\\|b\\` \\<s\\>"
        );
        assert_eq!(markdown("a\nb\x1b"), "a\\\\nb\\\\u{1b}");
        assert_eq!(markdown("::x ##[y"), "\\:\\:x ##\\[y");
        assert_eq!(
            markdown("*a* _b_ ~c~ $d$ &amp; e@f.g WWW.h"),
            "\\*a\\* \\_b\\_ \\~c\\~ \\$d\\$ \\&amp; e\\@f.g WWW\\.h"
        );
    }

    #[test]
    fn xml_documents_keep_their_text_and_lose_commands() {
        let doc = "<a t=\"x\u{1b}y\">\n::stop-commands::tok\n  a ##[set-output]\tb\n</a>\n";
        let inert = xml_document(doc);
        assert_eq!(
            inert,
            "<a t=\"x\\u{1b}y\">\n&#58;:stop-commands::tok\n  a #&#35;[set-output]\tb\n</a>\n"
        );
        let parsed = roxmltree::Document::parse(&inert).unwrap();
        assert_eq!(
            parsed.root_element().text(),
            Some("\n::stop-commands::tok\n  a ##[set-output]\tb\n")
        );
    }

    #[test]
    fn json_documents_keep_their_text_and_lose_commands() {
        let doc = serde_json::to_string_pretty(&["a ##[set-output] \u{9b}\u{202e}\x1b"]).unwrap();
        let inert = json_document(&doc);
        assert!(!inert.contains("##["), "{inert}");
        assert!(!inert.contains(['\u{9b}', '\u{202e}', '\x1b']), "{inert}");
        let back: Vec<String> = serde_json::from_str(&inert).unwrap();
        assert_eq!(back, ["a ##[set-output] \u{9b}\u{202e}\x1b"]);
    }
}
