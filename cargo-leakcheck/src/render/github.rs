//! GitHub Actions output, under `GITHUB_ACTIONS=true`: an `::error`
//! annotation per new leak and session growth site, and a markdown summary
//! appended to `$GITHUB_STEP_SUMMARY`.
//!
//! Workflow commands are conventionally written to stdout (the runner reads
//! them from stderr too); with `--json -` stdout is the JSON report, so they
//! go to stderr then. GitHub shows at most ten error annotations per step,
//! so the worst ten are written, and a notice says how many more there are.

use std::fmt::Write;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use leakcheck_format::report::{SessionSite, SiteReport, SiteVerdict};

use super::location::{self, Location};
use super::neutralise;
use crate::errors::Error;
use crate::outcome::{LeakStatus, RunOutcome, Summary};

/// Error annotations GitHub shows per step.
pub const MAX_ANNOTATIONS: usize = 10;
/// The step summary's size limit (GitHub rejects a bigger one).
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The GitHub Actions environment, when running under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    /// The repository's checkout (`GITHUB_WORKSPACE`), if set.
    pub repo_root: Option<PathBuf>,
    /// The step summary file (`GITHUB_STEP_SUMMARY`), if set.
    pub step_summary: Option<PathBuf>,
}

impl Actions {
    /// Reads the environment through `var`; `None` unless
    /// `GITHUB_ACTIONS=true`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Actions> {
        if var("GITHUB_ACTIONS").as_deref() != Some("true") {
            return None;
        }
        let path = |name| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Some(Actions {
            repo_root: path("GITHUB_WORKSPACE"),
            step_summary: path("GITHUB_STEP_SUMMARY"),
        })
    }
}

/// Escapes the message of a workflow command (GitHub's `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command (GitHub's
/// `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation before it is written.
#[derive(Debug, Clone, PartialEq)]
struct Annotation {
    /// Retained bytes, to put the worst first.
    size: i64,
    at: Option<Location>,
    title: String,
    message: String,
}

impl Annotation {
    /// The command: its fields are a test's text, inert on the terminal
    /// (the message a line at a time, its call path on lines of their
    /// own), then escaped as GitHub's toolkit escapes them.
    fn command(&self) -> String {
        let mut props = Vec::new();
        if let Some(at) = &self.at {
            props.push(format!(
                "file={}",
                escape_property(&neutralise::terminal(&at.file))
            ));
            props.push(format!("line={}", at.line));
        }
        props.push(format!(
            "title={}",
            escape_property(&neutralise::terminal(&self.title))
        ));
        let message: Vec<String> = self.message.split('\n').map(neutralise::terminal).collect();
        format!(
            "::error {}::{}",
            props.join(","),
            escape_data(&message.join("\n"))
        )
    }
}

/// The annotation commands for `outcome`, one per line, worst first, at
/// most [`MAX_ANNOTATIONS`] errors and a notice for the rest. Files are
/// relative to `repo_root`; call paths are resolved against the workspace
/// at `workspace_root`.
pub fn annotations(outcome: &RunOutcome, workspace_root: &Path, repo_root: &Path) -> String {
    let resolve = |at: Option<Location>| {
        at.map(|at| Location {
            file: location::in_repository(workspace_root, repo_root, &at.file),
            line: at.line,
        })
    };
    let mut all = Vec::new();
    for b in &outcome.binaries {
        for t in b.leak_tests.iter().filter(|t| t.status == LeakStatus::Leak) {
            let r = &t.report;
            for s in r.sites.iter().filter(|s| s.verdict == SiteVerdict::Leak) {
                all.push(Annotation {
                    size: s.size_diff,
                    at: resolve(location::workspace_frame(s, workspace_root)),
                    title: format!("leak in {} {}", r.binary, r.name),
                    message: leak_message(s, r.iters),
                });
            }
        }
        for s in b.session.sites.iter().filter(|s| s.growth) {
            let at = location::is_workspace_file(workspace_root, &s.file).then(|| Location {
                file: s.file.clone(),
                line: s.line,
            });
            all.push(Annotation {
                size: s.size_diff,
                at: resolve(at),
                title: format!("session growth in {}", s.binary),
                message: session_message(s),
            });
        }
    }
    // Stable: equal sizes keep the report's order.
    all.sort_by_key(|a| std::cmp::Reverse(a.size));
    let mut out = String::new();
    for a in all.iter().take(MAX_ANNOTATIONS) {
        out.push_str(&a.command());
        out.push('\n');
    }
    if all.len() > MAX_ANNOTATIONS {
        let more = all.len() - MAX_ANNOTATIONS;
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            escape_property("cargo leakcheck"),
            escape_data(&format!(
                "{more} more leak{} and session growth sites not annotated \
                 (GitHub shows {MAX_ANNOTATIONS} per step); see the job summary",
                if more == 1 { "" } else { "s" }
            ))
        );
    }
    out
}

fn leak_message(s: &SiteReport, iters: u64) -> String {
    let mut m = format!(
        "{:.1} B/iter ({:.2} blocks/iter) retained at {}:{}",
        s.bytes_per_iter, s.blocks_per_iter, s.file, s.line
    );
    if !s.function.is_empty() {
        let _ = write!(m, " in {}", s.function);
    }
    let _ = write!(
        m,
        ": {:+.1} KiB in {} blocks over {iters} iterations",
        s.size_diff as f64 / 1024.0,
        s.count_diff
    );
    if !s.traceback.is_empty() {
        m.push_str("\ncall path:");
        for frame in &s.traceback {
            let _ = write!(m, "\n  {frame}");
        }
    }
    m
}

fn session_message(s: &SessionSite) -> String {
    let mut m = format!(
        "{:+.1} KiB in {} blocks still live at the end of the session at {}:{}",
        s.size_diff as f64 / 1024.0,
        s.count_diff,
        s.file,
        s.line
    );
    if !s.function.is_empty() {
        let _ = write!(m, " in {}", s.function);
    }
    let _ = write!(
        m,
        "\nleft by each of {} tests: {}",
        s.tests.len(),
        s.tests.join(", ")
    );
    m
}

/// A markdown table cell of text from a test: no line break, no markup
/// (see [`neutralise::markdown`]).
fn cell(s: &str) -> String {
    neutralise::markdown(s)
}

/// `file:line` as code, the file's name inert: a code span would end at a
/// backtick in the name, an HTML `<code>` element does not.
fn place(file: &str, line: u32) -> String {
    format!("<code>{}:{line}</code>", cell(file))
}

fn kib(bytes: i64) -> String {
    format!("{:+.1} KiB", bytes as f64 / 1024.0)
}

/// The step summary of `outcome` in markdown, kept under `limit` bytes:
/// rows that do not fit are left out with a note that says how many.
pub fn summary(outcome: &RunOutcome, limit: usize) -> String {
    let s = outcome.summary();
    let mut head = String::from("## cargo leakcheck\n\n");
    let _ = writeln!(head, "{}\n", headline(&s));
    let mut rows: Vec<String> = Vec::new();
    let mut tests: Vec<_> = outcome
        .binaries
        .iter()
        .flat_map(|b| &b.leak_tests)
        .collect();
    // Problems first.
    tests.sort_by_key(|t| match t.status {
        LeakStatus::Leak => 0,
        LeakStatus::Failed | LeakStatus::Fault => 1,
        LeakStatus::Accepted => 2,
        LeakStatus::Clean => 3,
    });
    if !tests.is_empty() {
        rows.push(
            "### Leak tests\n\n| Result | Binary | Test | Site | B/iter | Blocks/iter | Retained | Iters |\n\
             | --- | --- | --- | --- | ---: | ---: | ---: | ---: |"
                .to_owned(),
        );
    }
    for t in tests {
        let r = &t.report;
        let result = match t.status {
            LeakStatus::Leak => "**LEAK**",
            LeakStatus::Failed => "**FAILED**",
            LeakStatus::Fault => "**ERROR**",
            LeakStatus::Accepted => "accepted",
            LeakStatus::Clean => "clean",
        };
        let site = r
            .sites
            .iter()
            .find(|s| s.verdict == SiteVerdict::Leak)
            .filter(|_| matches!(t.status, LeakStatus::Leak | LeakStatus::Accepted));
        let row = match (site, &r.error) {
            (Some(site), _) => format!(
                "| {result} | {} | {} | {} | {:.1} | {:.2} | {} | {} |",
                cell(&r.binary),
                cell(&r.name),
                place(&site.file, site.line),
                site.bytes_per_iter,
                site.blocks_per_iter,
                kib(site.size_diff),
                r.iters
            ),
            (None, Some(error)) => format!(
                "| {result} | {} | {} | {} | | | | |",
                cell(&r.binary),
                cell(&r.name),
                cell(error)
            ),
            (None, None) => format!(
                "| {result} | {} | {} | | | | | {} |",
                cell(&r.binary),
                cell(&r.name),
                r.iters
            ),
        };
        rows.push(row);
    }
    let sites: Vec<&SessionSite> = outcome
        .binaries
        .iter()
        .flat_map(|b| &b.session.sites)
        .collect();
    if !sites.is_empty() {
        rows.push(
            "\n### Session sites\n\n| Result | Binary | Site | Retained | Blocks | Tests |\n\
             | --- | --- | --- | ---: | ---: | --- |"
                .to_owned(),
        );
    }
    for site in sites {
        let result = if site.growth {
            "**GROWTH**"
        } else {
            "one-time cost"
        };
        rows.push(format!(
            "| {result} | {} | {} | {} | {} | {} ({}) |",
            cell(&site.binary),
            place(&site.file, site.line),
            kib(site.size_diff),
            site.count_diff,
            site.tests.len(),
            cell(&site.tests.join(", "))
        ));
    }
    truncate(head, rows, limit)
}

/// `head` and as many `rows` as fit in `limit` bytes, with a note for the
/// rest.
fn truncate(head: String, rows: Vec<String>, limit: usize) -> String {
    // Room for the note, whatever the count.
    const NOTE_ROOM: usize = 200;
    let mut out = head;
    let total = rows.len();
    for (i, row) in rows.into_iter().enumerate() {
        if out.len() + row.len() + 1 + NOTE_ROOM > limit {
            let _ = writeln!(
                out,
                "\n_{} more rows left out: the step summary is limited to 1 MiB. \
                 The --json, --junit or --html report has them all._",
                total - i
            );
            return out;
        }
        out.push_str(&row);
        out.push('\n');
    }
    out
}

fn headline(s: &Summary) -> String {
    let mut parts = Vec::new();
    if s.leaks > 0 {
        parts.push(format!("**{} new leak{}**", s.leaks, plural(s.leaks)));
    }
    if s.growth_sites > 0 {
        parts.push(format!(
            "**{} session growth site{}**",
            s.growth_sites,
            plural(s.growth_sites)
        ));
    }
    if s.failed > 0 {
        parts.push(format!("**{} failed**", s.failed));
    }
    if s.faults > 0 {
        parts.push(format!("**{} not measured**", s.faults));
    }
    if parts.is_empty() {
        parts.push("Nothing grew".to_owned());
    }
    format!(
        "{}: {} leak test{} ({} clean, {} accepted), {} test binar{}.",
        parts.join(", "),
        s.leak_tests,
        plural(s.leak_tests),
        s.clean,
        s.accepted,
        s.binaries,
        if s.binaries == 1 { "y" } else { "ies" }
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Appends `text` to the step summary file.
pub fn append_summary(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| Error::WriteOutput {
            what: "GitHub step summary",
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;
