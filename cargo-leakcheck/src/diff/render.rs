//! The human report of `cargo leakcheck diff`, printed on stderr. The
//! program's file and function names go through [`terminal`], as a test's
//! do in a run's report.

use std::fmt::Write;

use leakcheck_format::report::SiteVerdict;
use leakcheck_format::{SeriesJudgement, Snapshot, StatisticDiff};

use super::finding::{Finding, Input, series_name};
use crate::cli::{DiffKey, DiffOpts, Verbosity};
use crate::render::neutralise::terminal;
use crate::render::units::rate;
use crate::ui::Paint;

/// Sites shown for a series unless `-v`.
const TOP_SITES: usize = 10;

/// Said once when a shown site has no file:line: the program was built
/// without line tables (`--release` without a `debug` setting), so its
/// sites are named by their function.
pub(super) const NO_LINES_HINT: &str = "note: sites shown as `<unknown>:0` are named by their \
     function: the program has no line tables; for file:line, build it with \
     `[profile.release] debug = \"line-tables-only\"` in Cargo.toml";

/// Whether a site is named by its function alone.
fn without_line(file: &str, line: u32) -> bool {
    file == "<unknown>" && line == 0
}

/// The whole report.
pub(super) fn render(input: &Input, finding: &Finding, opts: &DiffOpts, p: Paint) -> String {
    let mut out = String::new();
    match finding {
        Finding::Diff(diffs) => diff(&mut out, input, diffs, opts, p),
        Finding::Series(series) => self::series(&mut out, input, series, opts, p),
    }
    out
}

/// `pid 4242, 60.0 s apart` when the snapshots say (pprof profiles name
/// no process: pid 0).
fn apart(old: &Snapshot, new: &Snapshot) -> String {
    match (old.origin(), new.origin()) {
        (Some(a), Some(b)) => {
            let secs = b.uptime_ms.saturating_sub(a.uptime_ms) as f64 / 1000.0;
            match b.pid {
                0 => format!(" ({secs:.1} s apart)"),
                pid => format!(" (pid {pid}, {secs:.1} s apart)"),
            }
        }
        _ => String::new(),
    }
}

fn diff(out: &mut String, input: &Input, diffs: &[StatisticDiff], opts: &DiffOpts, p: Paint) {
    let by = match opts.key {
        DiffKey::Lineno => "line",
        DiffKey::Filename => "file",
        DiffKey::Traceback => "call path",
    };
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!(
            "Comparing {} with {}{}, by {by}",
            terminal(&input.names[1]),
            terminal(&input.names[0]),
            apart(&input.snapshots[0], &input.snapshots[1])
        ))
    );
    let changed: Vec<&StatisticDiff> = diffs
        .iter()
        .filter(|d| d.size_diff != 0 || d.count_diff != 0)
        .collect();
    if changed.is_empty() {
        let _ = writeln!(out, "  nothing changed");
    }
    let shown = match opts.limit {
        0 => changed.len(),
        n => n.min(changed.len()),
    };
    for d in &changed[..shown] {
        let _ = writeln!(out, "  {}{}", terminal(&d.to_string()), function_of(d, p));
        if opts.key == DiffKey::Traceback || opts.verbosity() == Verbosity::Verbose {
            for line in d.traceback.format() {
                let _ = writeln!(out, "      {}", p.dim(&terminal(&line)));
            }
        }
    }
    if shown < changed.len() {
        let _ = writeln!(
            out,
            "  {}",
            p.dim(&format!("... {} more (--limit 0)", changed.len() - shown))
        );
    }
    let no_lines = changed[..shown].iter().any(|d| {
        d.traceback
            .charged_frame()
            .is_some_and(|f| without_line(&f.file, f.line))
    });
    if no_lines {
        let _ = writeln!(out, "\n{}", p.dim(NO_LINES_HINT));
    }
    let _ = writeln!(
        out,
        "\n{}",
        p.dim("Two snapshots show what changed, not whether it leaks: give three or more for a verdict.")
    );
}

fn function_of(d: &StatisticDiff, p: Paint) -> String {
    match d.traceback.charged_frame() {
        Some(f) if !f.function.is_empty() => {
            format!("  {}", p.dim(&format!("in {}", terminal(&f.function))))
        }
        _ => String::new(),
    }
}

fn series(out: &mut String, input: &Input, s: &SeriesJudgement, opts: &DiffOpts, p: Paint) {
    let pid = input.snapshots[0]
        .origin()
        .filter(|o| o.pid != 0)
        .map(|o| format!(" of pid {}", o.pid))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!(
            "Snapshot series: {} snapshots{pid} over {:.1} s ({})",
            input.snapshots.len(),
            s.elapsed_ms as f64 / 1000.0,
            terminal(&series_name(input))
        ))
    );
    let verbosity = opts.verbosity();
    let leaks = s
        .sites
        .iter()
        .filter(|x| x.report.verdict == SiteVerdict::Leak)
        .count();
    let shown: Vec<_> = s
        .sites
        .iter()
        .filter(|x| verbosity != Verbosity::Quiet || x.report.verdict == SiteVerdict::Leak)
        .take(if verbosity == Verbosity::Verbose {
            usize::MAX
        } else {
            TOP_SITES.max(leaks)
        })
        .collect();
    if s.sites.is_empty() {
        let _ = writeln!(out, "  nothing grew");
    }
    for site in &shown {
        let r = &site.report;
        let label = match r.verdict {
            SiteVerdict::Leak => p.bad("LEAK       "),
            SiteVerdict::Plateau => p.good("plateau    "),
            SiteVerdict::Fluctuating => p.good("fluctuating"),
        };
        let function = if r.function.is_empty() {
            String::new()
        } else {
            format!("  {}", p.dim(&format!("in {}", terminal(&r.function))))
        };
        let _ = writeln!(
            out,
            "  {label} {:+.1} KiB  count {:>6}  {}:{}  ({}, {:.2} blocks/s){function}",
            r.size_diff as f64 / 1024.0,
            r.count_diff,
            terminal(&r.file),
            r.line,
            rate(site.bytes_per_sec, "s"),
            site.blocks_per_sec,
        );
    }
    if shown.len() < s.sites.len() && verbosity != Verbosity::Quiet {
        let more = s.sites.len() - shown.len();
        let _ = writeln!(out, "  {}", p.dim(&format!("... {more} more (-v)")));
    }
    for site in shown.iter().filter(|x| !x.report.traceback.is_empty()) {
        let r = &site.report;
        let _ = writeln!(
            out,
            "\ncall path of {}:{} (oldest first):",
            terminal(&r.file),
            r.line
        );
        for line in &r.traceback {
            let _ = writeln!(out, "  {}", terminal(line));
        }
    }
    if shown
        .iter()
        .any(|x| without_line(&x.report.file, x.report.line))
    {
        let _ = writeln!(out, "\n{}", p.dim(NO_LINES_HINT));
    }
    let summary = match leaks {
        0 => p.good("No leak: nothing kept growing through the last half of the series."),
        1 => p.bad("1 site leaks: its retained memory kept growing through the last half of the series."),
        n => p.bad(&format!(
            "{n} sites leak: their retained memory kept growing through the last half of the series."
        )),
    };
    let _ = writeln!(out, "\n{summary}");
}
