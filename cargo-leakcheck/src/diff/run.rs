//! Loading, checking and judging the snapshots of `cargo leakcheck diff`.

use std::path::Path;

use leakcheck_rt::report::{
    REPORT_VERSION, Report, SessionReport, SessionVerdict, SiteVerdict, TestReport, TestVerdict,
};
use leakcheck_rt::{Filter, KeyType, SeriesFold, Snapshot};

use super::finding::{Finding, Input, series_name};
use super::render;
use crate::cli::{DiffKey, DiffOpts};
use crate::errors::{Error, exit_codes};
use crate::render::html::{Axis, Count, DiffRow, Page, Status, TestEntry, Tone};
use crate::render::{file, json};
use crate::ui::{self, Paint};

/// The traces of the snapshots, as far as a finding needs them.
enum Traces {
    /// Two snapshots, compared as they are.
    Pair(Vec<Snapshot>),
    /// Three or more, folded one at a time as they are read: a series of
    /// thousands of dumps is never held whole.
    Series(Box<SeriesFold>),
}

/// Runs `cargo leakcheck diff`; returns the exit code of the findings.
pub fn execute(opts: &DiffOpts) -> Result<i32, Error> {
    let color = ui::color_choice(
        opts.color,
        std::env::var("CARGO_TERM_COLOR").ok().as_deref(),
    );
    let paint = Paint::new(ui::use_color(color, ui::stderr_is_terminal()));
    if let Some(path) = &opts.json {
        json::check_writable(path)?;
    }
    if let Some(path) = &opts.html {
        file::check_writable("HTML report", path)?;
    }
    let (input, traces) = load(opts)?;
    let finding = judge(traces, opts);
    eprint!("{}", render::render(&input, &finding, opts, paint));
    if let Some(path) = &opts.json {
        json::write_value(&to_json(&input, &finding), path)?;
    }
    if let Some(path) = &opts.html {
        file::write_atomic("HTML report", path, &html(&input, &finding))?;
    }
    Ok(match &finding {
        Finding::Series(s)
            if s.sites
                .iter()
                .any(|s| s.report.verdict == SiteVerdict::Leak) =>
        {
            exit_codes::LEAK_FOUND
        }
        _ => exit_codes::OK,
    })
}

fn load(opts: &DiffOpts) -> Result<(Input, Traces), Error> {
    let filters = filters(opts);
    let mut input = Input {
        names: Vec::new(),
        snapshots: Vec::new(),
    };
    let mut traces = if opts.files.len() > 2 {
        Traces::Series(Box::default())
    } else {
        Traces::Pair(Vec::new())
    };
    for path in &opts.files {
        let snap = Snapshot::load(path).map_err(|e| Error::Snapshot(e.to_string()))?;
        let snap = if filters.is_empty() {
            snap
        } else {
            snap.filter_traces(&filters)
        };
        input.names.push(display_name(path));
        input.snapshots.push(snap.without_traces());
        match &mut traces {
            Traces::Pair(pair) => pair.push(snap),
            Traces::Series(fold) => fold.push(snap),
        }
    }
    let named: Vec<(&str, &Snapshot)> = input
        .names
        .iter()
        .map(String::as_str)
        .zip(&input.snapshots)
        .collect();
    leakcheck_rt::check_series(&named).map_err(|e| Error::Snapshot(e.to_string()))?;
    Ok((input, traces))
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn filters(opts: &DiffOpts) -> Vec<Filter> {
    let include = opts.include.iter().map(|p| Filter::include(p));
    let exclude = opts.exclude.iter().map(|p| Filter::exclude(p));
    include
        .chain(exclude)
        .map(|f| f.all_frames(opts.all_frames))
        .collect()
}

fn judge(traces: Traces, opts: &DiffOpts) -> Finding {
    match traces {
        Traces::Pair(pair) => match pair.as_slice() {
            [old, new] => Finding::Diff(new.compare_to(old, key_type(opts.key))),
            series => Finding::Series(leakcheck_rt::judge_series(
                &series.iter().collect::<Vec<_>>(),
                opts.min_growth_bytes,
            )),
        },
        Traces::Series(fold) => Finding::Series(fold.judge(opts.min_growth_bytes)),
    }
}

pub(super) fn key_type(key: DiffKey) -> KeyType {
    match key {
        DiffKey::Lineno => KeyType::Lineno,
        DiffKey::Filename => KeyType::Filename,
        DiffKey::Traceback => KeyType::Traceback,
    }
}

/// The series as one test of the `diff` binary: its `iters` the snapshot
/// intervals, its rates per interval, each site's `series` in
/// milliseconds since the first snapshot.
fn series_report(input: &Input, finding: &Finding) -> TestReport {
    let (verdict, iters, sites) = match finding {
        Finding::Diff(_) => (TestVerdict::Clean, 1, Vec::new()),
        Finding::Series(s) => {
            let leaks = s
                .sites
                .iter()
                .any(|s| s.report.verdict == SiteVerdict::Leak);
            let verdict = if leaks {
                TestVerdict::Leak
            } else {
                TestVerdict::Clean
            };
            let sites = s.sites.iter().map(|s| s.report.clone()).collect();
            (verdict, s.intervals, sites)
        }
    };
    TestReport {
        binary: "diff".into(),
        name: series_name(input),
        verdict,
        iters,
        sites,
        error: None,
        warnings: Vec::new(),
    }
}

/// The HTML page: a series' sites with their plots, or the changes
/// between two snapshots.
fn html(input: &Input, finding: &Finding) -> String {
    let report = series_report(input, finding);
    let (tests, diff, subtitle, counts) = match finding {
        Finding::Series(s) => {
            let leaks = s
                .sites
                .iter()
                .filter(|s| s.report.verdict == SiteVerdict::Leak)
                .count();
            let status = if leaks > 0 {
                Status::Leak
            } else {
                Status::Clean
            };
            let entry = TestEntry {
                status,
                report: &report,
                grown: false,
                detail: None,
            };
            let subtitle = format!(
                "{} snapshots over {:.1} s",
                input.names.len(),
                s.elapsed_ms as f64 / 1000.0,
            );
            let of = |verdict| {
                s.sites
                    .iter()
                    .filter(|s| s.report.verdict == verdict)
                    .count()
            };
            let mut counts: Vec<Count> = [
                (Tone::Bad, leaks, "site leaks", "sites leak"),
                (
                    Tone::Good,
                    of(SiteVerdict::Plateau),
                    "site levels off",
                    "sites level off",
                ),
                (
                    Tone::Good,
                    of(SiteVerdict::Fluctuating),
                    "site rises and falls",
                    "sites rise and fall",
                ),
            ]
            .into_iter()
            .filter(|c| c.1 > 0)
            .map(|(tone, n, one, many)| Count::of(tone, n, one, many))
            .collect();
            if counts.is_empty() {
                counts.push(Count {
                    tone: Tone::Good,
                    text: "nothing grew".into(),
                });
            }
            (vec![entry], Vec::new(), subtitle, counts)
        }
        Finding::Diff(diffs) => {
            let rows = diffs
                .iter()
                .filter(|d| d.size_diff != 0 || d.count_diff != 0)
                .map(|d| DiffRow {
                    place: d.traceback.to_string(),
                    size: d.size as i64,
                    size_diff: d.size_diff,
                    count_diff: d.count_diff,
                })
                .collect();
            let subtitle = format!("{} compared with {}", input.names[1], input.names[0]);
            let rows: Vec<DiffRow> = rows;
            let counts = vec![Count::of(
                Tone::Warn,
                rows.len(),
                "site changed",
                "sites changed",
            )];
            (Vec::new(), rows, subtitle, counts)
        }
    };
    Page {
        title: "cargo leakcheck diff".into(),
        subtitle,
        counts,
        axis: Axis::Milliseconds,
        tests,
        problems: Vec::new(),
        session: Vec::new(),
        has_session: false,
        diff,
    }
    .render()
}

/// The version 1 run report: the series as one test of the `diff` binary
/// (see [`series_report`]), with `seconds` and per-second rates added;
/// two snapshots add their `compare_to` rows as `diff`.
fn to_json(input: &Input, finding: &Finding) -> serde_json::Value {
    let report = Report {
        version: REPORT_VERSION,
        tests: vec![series_report(input, finding)],
        session: SessionReport {
            verdict: SessionVerdict::Clean,
            sites: Vec::new(),
        },
        unwinder: Vec::new(),
    };
    let mut value: serde_json::Value =
        serde_json::from_str(&report.to_json()).expect("the report is JSON");
    let test = &mut value["tests"][0];
    match finding {
        Finding::Series(s) => {
            test["seconds"] = (s.elapsed_ms as f64 / 1000.0).into();
            test["snapshots"] = input.names.clone().into();
            for (site, judged) in test["sites"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .zip(&s.sites)
            {
                site["bytes_per_sec"] = round(judged.bytes_per_sec).into();
                site["blocks_per_sec"] = round(judged.blocks_per_sec).into();
            }
        }
        Finding::Diff(diffs) => {
            test["snapshots"] = input.names.clone().into();
            value["diff"] = diffs
                .iter()
                .map(|d| {
                    let frame = d.traceback.charged_frame();
                    serde_json::json!({
                        "file": frame.map_or("<unknown>", |f| f.file.as_str()),
                        "line": frame.map_or(0, |f| f.line),
                        "function": frame.map_or("", |f| f.function.as_str()),
                        "size": d.size,
                        "size_diff": d.size_diff,
                        "count": d.count,
                        "count_diff": d.count_diff,
                        "traceback": d.traceback.format(),
                    })
                })
                .collect::<Vec<_>>()
                .into();
        }
    }
    value
}

/// Rates rounded to a thousandth, so reports are stable to review.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
