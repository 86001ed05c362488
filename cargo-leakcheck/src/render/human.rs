//! The human report, printed on stderr at the end of a run.
//!
//! What a test controls (its name, panic message, output, the names of its
//! files and functions) goes through [`terminal`] on its way in: one line,
//! no escape sequence, no workflow command.

use std::fmt::Write;

use leakcheck_format::report::{SessionSite, SiteReport, SiteVerdict};

use super::neutralise::terminal;
use super::units::rate;
use crate::cli::{SnapshotMode, Verbosity};
use crate::outcome::{BinaryOutcome, LeakStatus, LeakTestOutcome, RunOutcome, Summary};
use crate::ui::Paint;

/// Sites shown per leak test unless `-v`.
const TOP_SITES: usize = 3;
/// Contributing tests named per session site unless `-v`.
const TOP_TESTS: usize = 8;

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colours, or none.
    pub paint: Paint,
    /// How much to show.
    pub verbosity: Verbosity,
    /// The snapshot mode of the run (for the hints).
    pub mode: SnapshotMode,
}

/// The whole report.
pub fn render(outcome: &RunOutcome, style: Style) -> String {
    let mut out = String::new();
    leak_tests(&mut out, outcome, style);
    session(&mut out, outcome, style);
    failures(&mut out, outcome, style);
    faults(&mut out, outcome, style);
    not_instrumented(&mut out, outcome, style);
    own_allocator(&mut out, outcome, style);
    own_main(&mut out, outcome, style);
    unwinder(&mut out, outcome, style);
    summary(&mut out, &outcome.summary(), style);
    out
}

fn heading(out: &mut String, text: &str, style: Style) {
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", style.paint.bold(text));
}

fn leak_tests(out: &mut String, outcome: &RunOutcome, style: Style) {
    let quiet = style.verbosity == Verbosity::Quiet;
    let shown: Vec<&LeakTestOutcome> = outcome
        .binaries
        .iter()
        .flat_map(|b| &b.leak_tests)
        .filter(|t| {
            !quiet
                || matches!(t.status, LeakStatus::Leak | LeakStatus::Failed)
                || !t.report.warnings.is_empty()
        })
        .collect();
    if shown.is_empty() {
        return;
    }
    heading(out, "Leak tests", style);
    let p = style.paint;
    for t in shown {
        let r = &t.report;
        let label = match t.status {
            LeakStatus::Clean => p.good("clean   "),
            LeakStatus::Accepted => p.warn("accepted"),
            LeakStatus::Leak => p.bad("LEAK    "),
            LeakStatus::Failed => p.bad("FAILED  "),
            LeakStatus::Fault => p.warn("ERROR   "),
        };
        let name = format!("{} {}", p.dim(&terminal(&r.binary)), terminal(&r.name));
        let note = match t.status {
            LeakStatus::Clean => format!("  ({} iters)", r.iters),
            LeakStatus::Accepted => format!(
                "  ({} iters; known leak, matches its accepted snapshot)",
                r.iters
            ),
            LeakStatus::Leak if t.grown => format!(
                "  ({} iters; grew past, or differs from, its accepted snapshot)",
                r.iters
            ),
            LeakStatus::Leak => format!("  ({} iters; new: it has no accepted snapshot)", r.iters),
            LeakStatus::Failed | LeakStatus::Fault => {
                format!(
                    ": {}",
                    terminal(r.error.as_deref().unwrap_or("unknown error"))
                )
            }
        };
        let _ = writeln!(out, "  {label} {name}{note}");
        let leaking = r.sites.iter().filter(|s| s.verdict == SiteVerdict::Leak);
        let sites: Vec<&SiteReport> = match style.verbosity {
            Verbosity::Verbose => r.sites.iter().collect(),
            _ => leaking.take(TOP_SITES).collect(),
        };
        for site in &sites {
            let _ = writeln!(out, "             {}", site_line(site, p));
            for retainer in &site.retained_by {
                let _ = writeln!(
                    out,
                    "                 {}  {}",
                    p.dim("retained by"),
                    terminal(&retainer.line())
                );
            }
        }
        let hidden = r
            .sites
            .iter()
            .filter(|s| s.verdict == SiteVerdict::Leak)
            .count();
        if style.verbosity != Verbosity::Verbose && hidden > sites.len() {
            let more = hidden - sites.len();
            let _ = writeln!(
                out,
                "             {}",
                p.dim(&format!("... {more} more (-v)"))
            );
        }
        for note in &t.snapshot {
            let _ = writeln!(out, "             {}", terminal(note));
        }
        for warning in &r.warnings {
            let _ = writeln!(
                out,
                "             {} {}",
                p.warn("warning:"),
                terminal(warning)
            );
        }
        if let Some(detail) = &t.detail {
            indented(out, detail, 13, p);
        }
    }
}

/// `+250.0 KiB  count   1000  tokio-1.54.1/src/runtime/task/core.rs:261
/// (256.0 B/iter, 1.00 blocks/iter)  in tokio::…::Cell<T,S>::new  called from
/// src/lib.rs:69`: the function is the allocating line's, so it comes
/// before the workspace line that called into the dependency. The rate is
/// in the unit a person reads (`4.9 MiB/iter`).
fn site_line(s: &SiteReport, p: Paint) -> String {
    let mut line = terminal(&format!(
        "{:+.1} KiB  count {:>6}  {}:{}  ({}, {:.2} blocks/iter)",
        s.size_diff as f64 / 1024.0,
        s.count_diff,
        s.file,
        s.line,
        rate(s.bytes_per_iter, "iter"),
        s.blocks_per_iter
    ));
    if s.verdict != SiteVerdict::Leak {
        let verdict = match s.verdict {
            SiteVerdict::Leak => "leak",
            SiteVerdict::Plateau => "plateau",
            SiteVerdict::Fluctuating => "fluctuating",
        };
        line.push_str(&format!("  [{verdict}]"));
    }
    if !s.function.is_empty() {
        line.push_str(&format!(
            "  {}",
            p.dim(&format!("in {}", terminal(&s.function)))
        ));
    }
    if let Some(caller) = &s.caller {
        line.push_str(&terminal(&format!(
            "  called from {}:{}",
            caller.file, caller.line
        )));
    }
    line
}

/// `+10000.0 KiB  count  10000  src/lib.rs:10`, as tracemalloc prints a diff.
fn session(out: &mut String, outcome: &RunOutcome, style: Style) {
    let p = style.paint;
    let all: Vec<&SessionSite> = outcome
        .binaries
        .iter()
        .flat_map(|b| &b.session.sites)
        .collect();
    let growth: Vec<&SessionSite> = all.iter().copied().filter(|s| s.fails()).collect();
    let accepted: Vec<&SessionSite> = all.iter().copied().filter(|s| s.accepted).collect();
    let known: Vec<&SessionSite> = all
        .iter()
        .copied()
        .filter(|s| s.known.is_some() && !s.accepted)
        .collect();
    let once: Vec<&SessionSite> = all
        .iter()
        .copied()
        .filter(|s| !s.growth && s.known.is_none() && !s.accepted)
        .collect();
    if !growth.is_empty() {
        heading(
            out,
            "Session growth (memory that piles up with the number of tests)",
            style,
        );
        for s in growth {
            session_site(out, s, style, p.warn(&terminal(&s.binary)));
            for retainer in &s.retained_by {
                let _ = writeln!(
                    out,
                    "      {}  {}",
                    p.dim("retained by"),
                    terminal(&retainer.line())
                );
            }
        }
    }
    if !accepted.is_empty() && style.verbosity != Verbosity::Quiet {
        heading(
            out,
            &format!(
                "Accepted session growth (known, listed in {}; not failures)",
                crate::accepted::FILE
            ),
            style,
        );
        for s in accepted {
            session_site(out, s, style, p.dim(&terminal(&s.binary)));
        }
    }
    if !once.is_empty() && style.verbosity != Verbosity::Quiet {
        heading(
            out,
            "One-time costs (left once, like warm-up; not failures)",
            style,
        );
        // Capped per binary as a leak test's sites are: they are not
        // failures, and a suite can have hundreds.
        let mut shown: std::collections::HashMap<&str, usize> = Default::default();
        let mut hidden = 0;
        for s in once {
            let n = shown.entry(s.binary.as_str()).or_default();
            if style.verbosity == Verbosity::Verbose || *n < TOP_SITES {
                *n += 1;
                session_site(out, s, style, p.dim(&terminal(&s.binary)));
            } else {
                hidden += 1;
            }
        }
        if hidden > 0 {
            let _ = writeln!(
                out,
                "  {}",
                p.dim(&format!(
                    "... {hidden} more (-v; at most {TOP_SITES} per binary are shown)"
                ))
            );
        }
    }
    if !known.is_empty() && style.verbosity == Verbosity::Verbose {
        heading(
            out,
            "Registries of test frameworks (bounded by the suite; not judged)",
            style,
        );
        for s in known {
            session_site(out, s, style, p.dim(&terminal(&s.binary)));
            let name = s.known.as_deref().unwrap_or_default();
            let _ = writeln!(out, "      {}", p.dim(&terminal(name)));
        }
    }
    if style.verbosity == Verbosity::Verbose {
        for b in &outcome.binaries {
            let (size, count) = b.session.std_caches;
            if size > 0 {
                let _ = writeln!(
                    out,
                    "  {}",
                    p.dim(&format!(
                        "{}: {:.1} KiB in {count} blocks of std's backtrace symbolisation \
                         cache (panics under RUST_BACKTRACE, formatted backtraces): not judged",
                        terminal(&b.binary),
                        size as f64 / 1024.0
                    ))
                );
            }
            let (size, count) = b.session.unattributed;
            if size > 0 {
                let _ = writeln!(
                    out,
                    "  {}",
                    p.dim(&format!(
                        "{}: {:.1} KiB in {count} blocks live at exit outside any test \
                         (harness, start-up): not judged",
                        terminal(&b.binary),
                        size as f64 / 1024.0
                    ))
                );
            }
        }
    }
}

fn session_site(out: &mut String, s: &SessionSite, style: Style, binary: String) {
    let p = style.paint;
    let mut line = format!("  {binary}  {}", terminal(&s.to_string()));
    if !s.function.is_empty() {
        line.push_str(&format!(
            "  {}",
            p.dim(&format!("in {}", terminal(&s.function)))
        ));
    }
    let _ = writeln!(out, "{line}");
    let n = s.tests.len();
    let tests: Vec<String> = s.tests.iter().map(|t| terminal(t)).collect();
    let names = if style.verbosity == Verbosity::Verbose || n <= TOP_TESTS {
        tests.join(", ")
    } else {
        format!(
            "{}, ... and {} more",
            tests[..TOP_TESTS - 2].join(", "),
            n - (TOP_TESTS - 2)
        )
    };
    let who = if n == 1 { "left by" } else { "left by each of" };
    let count = if n == 1 {
        String::new()
    } else {
        format!("{n} tests: ")
    };
    let _ = writeln!(out, "      {who} {count}{names}");
}

fn failures(out: &mut String, outcome: &RunOutcome, style: Style) {
    let failing: Vec<&BinaryOutcome> = outcome
        .binaries
        .iter()
        .filter(|b| !b.failed_tests.is_empty())
        .collect();
    if failing.is_empty() {
        return;
    }
    heading(out, "Failed tests", style);
    for b in failing {
        for name in &b.failed_tests {
            let _ = writeln!(
                out,
                "  {} {} {}",
                style.paint.bad("FAILED  "),
                style.paint.dim(&terminal(&b.binary)),
                terminal(name)
            );
        }
        if let (Some(detail), false) = (&b.detail, style.verbosity == Verbosity::Quiet) {
            indented(out, detail, 6, style.paint);
        }
    }
}

fn faults(out: &mut String, outcome: &RunOutcome, style: Style) {
    let faulty: Vec<&BinaryOutcome> = outcome
        .binaries
        .iter()
        .filter(|b| b.fault.is_some())
        .collect();
    if faulty.is_empty() {
        return;
    }
    heading(out, "Test binaries that could not be checked", style);
    for b in faulty {
        let reason = b.fault.as_deref().unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}: {}",
            style.paint.warn("ERROR   "),
            terminal(&b.binary),
            terminal(reason)
        );
        if let (Some(detail), true) = (&b.detail, b.failed_tests.is_empty()) {
            indented(out, detail, 6, style.paint);
        }
    }
}

fn not_instrumented(out: &mut String, outcome: &RunOutcome, style: Style) {
    let (why, names): (Vec<&BinaryOutcome>, Vec<&BinaryOutcome>) = outcome
        .binaries
        .iter()
        .filter(|b| b.is_uninstrumented())
        .partition(|b| b.not_checked.is_some());
    if (why.is_empty() && names.is_empty()) || style.verbosity == Verbosity::Quiet {
        return;
    }
    heading(out, "Not instrumented (ran, but measured nothing)", style);
    // Those leakcheck's runtime cannot go into, with why.
    for b in why {
        let reason = b.not_checked.as_deref().unwrap_or_default();
        let _ = writeln!(out, "  {}: {}", terminal(&b.binary), terminal(reason));
    }
    if names.is_empty() {
        return;
    }
    let names: Vec<&str> = names.iter().map(|b| b.binary.as_str()).collect();
    let _ = writeln!(out, "  {}", terminal(&names.join(", ")));
    let _ = writeln!(
        out,
        "  {}",
        style
            .paint
            .dim("add `leakcheck_rt::install!();` to a test target to check it")
    );
}

fn own_allocator(out: &mut String, outcome: &RunOutcome, style: Style) {
    let own: Vec<(&str, &str)> = outcome
        .binaries
        .iter()
        .filter_map(|b| Some((b.binary.as_str(), b.own_allocator.as_deref()?)))
        .collect();
    if own.is_empty() || style.verbosity == Verbosity::Quiet {
        return;
    }
    heading(out, "Own allocator (ran, but measured nothing)", style);
    for (binary, site) in own {
        let _ = writeln!(out, "  {}", terminal(binary));
        if !site.is_empty() {
            let _ = writeln!(out, "    {}", terminal(site));
        }
    }
    let _ = writeln!(
        out,
        "  {}",
        style.paint.dim(
            "wrap it to check it: `static A: leakcheck_rt::TrackingAllocator<Yours> = \
             leakcheck_rt::TrackingAllocator::new(Yours);`"
        )
    );
}

fn own_main(out: &mut String, outcome: &RunOutcome, style: Style) {
    let names: Vec<&str> = outcome
        .binaries
        .iter()
        .filter(|b| b.own_main)
        .map(|b| b.binary.as_str())
        .collect();
    if names.is_empty() || style.verbosity == Verbosity::Quiet {
        return;
    }
    heading(
        out,
        "Own `main` (not a libtest harness: run as `cargo test` runs it, judged by its exit status)",
        style,
    );
    let _ = writeln!(out, "  {}", terminal(&names.join(", ")));
}

/// Shown at every verbosity: such a run is correct but much slower, and
/// the build's flags are what the user has to fix.
fn unwinder(out: &mut String, outcome: &RunOutcome, style: Style) {
    let names: Vec<&str> = outcome
        .binaries
        .iter()
        .filter(|b| b.unwinder)
        .map(|b| b.binary.as_str())
        .collect();
    if names.is_empty() {
        return;
    }
    heading(
        out,
        "No frame pointers (stacks taken with the slow DWARF unwinder)",
        style,
    );
    let _ = writeln!(out, "  {}", terminal(&names.join(", ")));
    let _ = writeln!(
        out,
        "  {}",
        style.paint.dim(
            "the results hold, but tracing was about 100x slower; something in the build \
             turned `-C force-frame-pointers=yes` off"
        )
    );
}

/// A test's own output (or libtest's account of it), a line at a time.
fn indented(out: &mut String, text: &str, by: usize, p: Paint) {
    for line in text.lines() {
        let _ = writeln!(out, "{:by$}{}", "", p.dim(&terminal(line)));
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(out: &mut String, s: &Summary, style: Style) {
    let p = style.paint;
    let mut parts = Vec::new();
    if s.leaks > 0 {
        parts.push(p.bad(&plural(s.leaks, "new leak", "new leaks")));
    }
    if s.accepted > 0 {
        parts.push(plural(s.accepted, "accepted leak", "accepted leaks"));
    }
    if s.leak_tests > 0 {
        parts.push(plural(s.clean, "clean leak test", "clean leak tests"));
    }
    parts.push(if s.growth_sites > 0 {
        p.bad(&format!(
            "session growth at {}",
            plural(s.growth_sites, "site", "sites")
        ))
    } else {
        "no session growth".to_owned()
    });
    if s.accepted_sites > 0 {
        parts.push(format!(
            "accepted session growth at {}",
            plural(s.accepted_sites, "site", "sites")
        ));
    }
    if s.failed > 0 {
        parts.push(p.bad(&plural(s.failed, "failed test", "failed tests")));
    }
    if s.faults > 0 {
        parts.push(p.warn(&plural(s.faults, "error", "errors")));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}: {} ({} checked)",
        p.bold("leakcheck"),
        parts.join(", "),
        plural(s.checked, "binary", "binaries")
    );
    if s.leaks > 0 && style.mode == SnapshotMode::Check {
        let _ = writeln!(
            out,
            "{}",
            p.dim(
                "fix the leak, or accept it as known with `cargo leakcheck --review` \
                 (or --accept)"
            )
        );
    }
    if s.growth_sites > 0 && style.mode != SnapshotMode::Accept {
        let _ = writeln!(
            out,
            "{}",
            p.dim(&format!(
                "fix the session growth, or accept it as known with `cargo leakcheck --accept` \
                 (it lists the site in {})",
                crate::accepted::FILE
            ))
        );
    }
    if s.leaks > 0 && style.mode == SnapshotMode::Review {
        let _ = writeln!(
            out,
            "{}",
            p.dim("after reviewing, run `cargo leakcheck` again to check against the accepted snapshots")
        );
    }
}

#[cfg(test)]
#[path = "human_tests.rs"]
pub(crate) mod tests;
