//! Loading, checking and judging the snapshots of `cargo leakcheck diff`.

use std::path::{Path, PathBuf};

use leakcheck_format::report::{
    REPORT_VERSION, Report, SessionReport, SessionVerdict, SiteVerdict, TestReport, TestVerdict,
};
use leakcheck_format::{Filter, KeyType, SeriesError, SeriesFold, Snapshot};

use super::finding::{Finding, Input, series_name};
use super::inputs::{read_snapshot, snapshot_paths};
use super::{memory, render};
use crate::cli::{DiffKey, DiffOpts};
use crate::errors::{Error, exit_codes};
use crate::render::html::{Axis, Count, DiffRow, Page, Status, TestEntry, Tone};
use crate::render::neutralise::terminal;
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
    if let Some(path) = &opts.pprof {
        file::check_writable("pprof profile", path)?;
    }
    let (input, traces, note) = load(opts)?;
    // Before the judgement, which takes the traces.
    let growth = opts.pprof.as_ref().map(|_| growth(&traces));
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let finding = judge(traces, opts);
    eprint!("{}", render::render(&input, &finding, opts, paint));
    eprint!("{}", memory::notes(&input));
    if let Some(path) = &opts.json {
        json::write_value(&to_json(&input, &finding), path)?;
    }
    if let Some(path) = &opts.html {
        file::write_atomic("HTML report", path, &html(&input, &finding))?;
    }
    if let (Some(path), Some(growth)) = (&opts.pprof, growth) {
        leakcheck_format::atomic_file::write(path, growth.to_pprof()).map_err(|source| {
            Error::WriteOutput {
                what: "pprof profile",
                path: path.to_owned(),
                source,
            }
        })?;
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

/// What grew between the first snapshot and the last, call path by call
/// path, as `--pprof` writes it.
fn growth(traces: &Traces) -> Snapshot {
    let (first, last) = match traces {
        Traces::Pair(pair) => (pair.first(), pair.last()),
        Traces::Series(fold) => (fold.first(), fold.last()),
    };
    match (first, last) {
        (Some(first), Some(last)) => last.growth_since(first),
        _ => Snapshot::default(),
    }
}

/// The snapshots of one run of a service (one process), as they are read.
struct RunFiles {
    /// When the process started and its id, so that runs sort by start;
    /// `None` for every file of two given without grouping.
    key: Option<(u64, u32)>,
    input: Input,
    /// `None` once a run that started later was read: this one will not
    /// be judged, and a directory of many restarts is never held whole.
    traces: Option<Traces>,
}

impl RunFiles {
    fn new(key: Option<(u64, u32)>) -> Self {
        RunFiles {
            key,
            input: Input {
                names: Vec::new(),
                snapshots: Vec::new(),
                totals: Vec::new(),
            },
            traces: Some(Traces::Pair(Vec::new())),
        }
    }

    /// Adds the next snapshot of the run: two are kept as they are, a third
    /// turns them into a fold.
    fn push(&mut self, name: String, snap: Snapshot) {
        self.input.names.push(name);
        self.input.snapshots.push(snap.without_traces());
        self.input.totals.push(snap.total());
        match &mut self.traces {
            None => {}
            Some(Traces::Pair(pair)) if pair.len() < 2 => pair.push(snap),
            Some(Traces::Pair(pair)) => {
                let mut fold = Box::<SeriesFold>::default();
                for held in pair.drain(..) {
                    fold.push(held);
                }
                fold.push(snap);
                self.traces = Some(Traces::Series(fold));
            }
            Some(Traces::Series(fold)) => fold.push(snap),
        }
    }

    fn pid(&self) -> u32 {
        self.key.map_or(0, |(_, pid)| pid)
    }

    /// `2026-12-07 10:02:03 UTC`: when the run's process started.
    fn started(&self) -> String {
        let ms = self.key.map_or(0, |(started, _)| started);
        match chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX)) {
            Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            None => format!("{ms} ms after the Unix epoch"),
        }
    }
}

/// Reads the snapshots. Three or more are grouped by the process that took
/// them (a service restarted into the same directory leaves the dumps of
/// each run there, numbered on); when there are several runs, the last to
/// start is judged, and the note returned says so.
fn load(opts: &DiffOpts) -> Result<(Input, Traces, Option<String>), Error> {
    let filters = filters(opts);
    let files = snapshot_paths(&opts.files)?;
    let grouped = files.len() > 2;
    let mut runs: Vec<RunFiles> = Vec::new();
    for (position, path) in files.iter().enumerate() {
        let snap = read_snapshot(path, position + 1).map_err(|e| snapshot_error(&e))?;
        let snap = if filters.is_empty() {
            snap
        } else {
            snap.filter_traces(&filters)
        };
        let name = display_name(path);
        let key = if grouped {
            let Some(origin) = snap.origin() else {
                return Err(snapshot_error(&SeriesError::NoOrigin { name }));
            };
            Some((origin.process_started_ms, origin.pid))
        } else {
            None
        };
        let run = match runs.iter().position(|r| r.key == key) {
            Some(i) => &mut runs[i],
            None => {
                runs.push(RunFiles::new(key));
                runs.last_mut().expect("just pushed")
            }
        };
        run.push(name, snap);
        let newest = runs.iter().map(|r| r.key).max().expect("a run was read");
        for run in runs.iter_mut().filter(|r| r.key != newest) {
            run.traces = None;
        }
    }
    runs.sort_by_key(|r| r.key);
    let place = place_of(&files);
    let last = runs
        .pop()
        .ok_or_else(|| snapshot_error(&SeriesError::TooFew { found: 0 }))?;
    let note = if runs.is_empty() {
        None
    } else {
        let pids: Vec<String> = runs
            .iter()
            .chain(std::iter::once(&last))
            .map(|r| r.pid().to_string())
            .collect();
        let held = format!("{place} holds {} runs", runs.len() + 1);
        if last.input.names.len() < 2 {
            return Err(Error::Snapshot(terminal(&format!(
                "failed to judge snapshots: {held} and the last (pid {}, started {}) has only 1 snapshot, {}; \
                 give at least two snapshots of one run",
                last.pid(),
                last.started(),
                last.input.names[0]
            ))));
        }
        Some(terminal(&format!(
            "note: {held} (pids {}); judging the last: pid {}, started {}, {} snapshots",
            pid_list(&pids),
            last.pid(),
            last.started(),
            last.input.names.len()
        )))
    };
    let named: Vec<(&str, &Snapshot)> = last
        .input
        .names
        .iter()
        .map(String::as_str)
        .zip(&last.input.snapshots)
        .collect();
    leakcheck_format::check_series(&named).map_err(|e| snapshot_error(&e))?;
    let traces = last
        .traces
        .expect("the run that started last keeps its traces");
    Ok((last.input, traces, note))
}

/// A snapshot error as one inert line: the names in it are the user's
/// files, which may hold anything.
fn snapshot_error(e: &dyn std::fmt::Display) -> Error {
    Error::Snapshot(terminal(&e.to_string()))
}

/// Where the snapshots are: their directory when they share one, as the
/// user named it (`leakcheck-snapshots` for `leakcheck-snapshots/*.json`).
fn place_of(files: &[PathBuf]) -> String {
    let mut parents = files.iter().map(|f| f.parent().unwrap_or(Path::new("")));
    match parents.next() {
        Some(first) if parents.all(|p| p == first) => match first.as_os_str().is_empty() {
            true => ".".to_owned(),
            false => first.display().to_string(),
        },
        _ => "the snapshots given".to_owned(),
    }
}

/// `123, 456`, or for many runs `1, 2, 3, …, 9, 10`.
fn pid_list(pids: &[String]) -> String {
    const SHOWN: usize = 8;
    if pids.len() <= SHOWN {
        return pids.join(", ");
    }
    format!(
        "{}, …, {}",
        pids[..3].join(", "),
        pids[pids.len() - 2..].join(", ")
    )
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
            series => Finding::Series(leakcheck_format::judge_series(
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
    // A sampled run's counts are estimates: the page says so with the rate.
    let subtitle = match memory::estimated(input) {
        Some(how) => format!("{subtitle}; sizes and counts {how}"),
        None => subtitle,
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
    let (estimated, memory) = memory::to_json(input);
    if !estimated.is_null() {
        value["tests"][0]["estimated"] = estimated;
    }
    value["tests"][0]["memory"] = memory;
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

#[cfg(test)]
mod tests {
    use clap::Parser;
    use leakcheck_format::{Frame, FrameKind, Trace, Traceback};

    use super::*;

    /// Writes a dump as `dump_every` would: `size` bytes at `src/lib.rs:3`,
    /// the `seq`th snapshot of process `pid` started at `started_ms`.
    fn dump(dir: &Path, number: u32, pid: u32, started_ms: u64, seq: u64) -> PathBuf {
        let size = seq * 100_000;
        let trace = Trace {
            traceback: Traceback::new(vec![Frame {
                file: "src/lib.rs".into(),
                line: 3,
                function: "service::handle".into(),
                kind: FrameKind::Workspace,
            }]),
            size,
            count: size / 1000,
        };
        let mut json: serde_json::Value =
            serde_json::from_str(&Snapshot::from_traces(vec![trace], 1).to_json()).unwrap();
        json["origin"] = serde_json::json!({
            "leakcheck": env!("CARGO_PKG_VERSION"),
            "pid": pid,
            "process_started_ms": started_ms,
            "seq": seq,
            "uptime_ms": seq * 60_000,
            "taken_at_ms": started_ms + seq * 60_000,
        });
        let path = dir.join(format!("snapshot-{number:06}.json"));
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    fn opts(files: &[PathBuf]) -> DiffOpts {
        let args = std::iter::once(PathBuf::from("diff")).chain(files.iter().cloned());
        DiffOpts::try_parse_from(args).unwrap()
    }

    fn load_err(files: &[PathBuf]) -> String {
        match load(&opts(files)) {
            Ok(_) => panic!("{files:?} loaded"),
            Err(e) => {
                assert_eq!(e.process_exit_code(), exit_codes::USAGE, "{e}");
                e.to_string()
            }
        }
    }

    /// 2026-12-07 10:00:00 UTC, in milliseconds since the epoch.
    const STARTED: u64 = 1_796_637_600_000;

    #[test]
    fn one_process_is_judged_without_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<_> = (1..=3)
            .map(|n| dump(dir.path(), n, 7, STARTED, n.into()))
            .collect();
        let (input, traces, note) = load(&opts(&files)).unwrap();
        assert_eq!(note, None);
        assert_eq!(input.names.len(), 3);
        assert!(matches!(traces, Traces::Series(_)));
    }

    #[test]
    fn the_run_that_started_last_is_judged_and_the_note_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Runs of pids 300 (started first), 100 (restarted) and 200 (last),
        // the first two interleaved as a fork's parent and child are.
        let files = vec![
            dump(d, 1, 300, STARTED, 1),
            dump(d, 2, 100, STARTED + 1_000, 1),
            dump(d, 3, 300, STARTED, 2),
            dump(d, 4, 100, STARTED + 1_000, 2),
            dump(d, 5, 200, STARTED + 3_600_000, 1),
            dump(d, 6, 200, STARTED + 3_600_000, 2),
            dump(d, 7, 200, STARTED + 3_600_000, 3),
        ];
        let (input, traces, note) = load(&opts(&files)).unwrap();
        assert_eq!(
            note.unwrap(),
            format!(
                "note: {} holds 3 runs (pids 300, 100, 200); judging the last: pid 200, \
                 started 2026-12-07 11:00:00 UTC, 3 snapshots",
                d.display()
            )
        );
        let names: Vec<String> = files[4..].iter().map(|f| f.display().to_string()).collect();
        assert_eq!(input.names, names);
        let Traces::Series(fold) = traces else {
            panic!("three snapshots are a series")
        };
        let judged = fold.judge(256);
        assert_eq!(judged.sites[0].report.size_diff, 200_000);
        assert_eq!(judged.sites[0].report.verdict, SiteVerdict::Leak);
    }

    #[test]
    fn a_last_run_of_two_snapshots_is_compared() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let files = vec![
            dump(d, 1, 10, STARTED, 1),
            dump(d, 2, 10, STARTED, 2),
            dump(d, 3, 10, STARTED, 3),
            dump(d, 4, 11, STARTED + 5_000, 1),
            dump(d, 5, 11, STARTED + 5_000, 2),
        ];
        let (input, traces, note) = load(&opts(&files)).unwrap();
        assert!(note.unwrap().ends_with(", 2 snapshots"));
        assert_eq!(input.names.len(), 2);
        assert!(matches!(traces, Traces::Pair(ref pair) if pair.len() == 2));
    }

    #[test]
    fn a_last_run_of_one_snapshot_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory whose name would colour the terminal.
        let d = dir.path().join("dumps\x1b[31m");
        std::fs::create_dir(&d).unwrap();
        let files = vec![
            dump(&d, 1, 10, STARTED, 1),
            dump(&d, 2, 10, STARTED, 2),
            dump(&d, 3, 11, STARTED + 5_000, 1),
        ];
        let e = load_err(&files);
        assert!(!e.contains('\x1b') && !e.contains('\n'), "{e:?}");
        let place = dir.path().join("dumps\\u{1b}[31m").display().to_string();
        assert_eq!(
            e,
            format!(
                "failed to judge snapshots: {place} holds 2 runs and the last (pid 11, started \
                 2026-12-07 10:00:05 UTC) has only 1 snapshot, {place}/snapshot-000003.json; \
                 give at least two snapshots of one run"
            )
        );
    }

    #[test]
    fn two_snapshots_of_different_processes_are_still_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            dump(dir.path(), 1, 10, STARTED, 1),
            dump(dir.path(), 2, 11, STARTED + 5_000, 1),
        ];
        assert!(load_err(&files).contains("were taken by different processes (pid 10 and pid 11)"));
    }

    #[test]
    fn a_snapshot_without_a_process_among_several_runs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.json");
        Snapshot::from_traces(Vec::new(), 1).dump(&plain).unwrap();
        let files = vec![
            dump(dir.path(), 1, 10, STARTED, 1),
            plain.clone(),
            dump(dir.path(), 2, 11, STARTED + 5_000, 1),
        ];
        assert!(load_err(&files).contains(&format!(
            "{} does not say when it was taken",
            plain.display()
        )));
    }

    #[test]
    fn a_directory_is_its_snapshot_files_in_number_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let files: Vec<_> = [1, 2, 10, 9]
            .into_iter()
            .map(|n| dump(d, n, 7, STARTED, n.into()))
            .collect();
        for other in [
            "notes.json",
            "snapshot-.json",
            "snapshot-x1.json",
            ".snapshot-000011.json.7.Ab.tmp",
        ] {
            std::fs::write(d.join(other), "{").unwrap();
        }
        let (input, _, note) = load(&opts(&[d.to_owned()])).unwrap();
        assert_eq!(note, None);
        let names: Vec<String> = [&files[0], &files[1], &files[3], &files[2]]
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        assert_eq!(input.names, names);

        let empty = d.join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(
            load_err(std::slice::from_ref(&empty)),
            format!(
                "failed to compare snapshots: {} holds no snapshot files (snapshot-N.json, as dump_every writes them) \
                 and no pprof profiles (*.pb.gz, *.pb, *.pprof)",
                empty.display()
            )
        );
        assert_eq!(
            load_err(&[files[0].clone()]),
            "failed to compare snapshots: need at least two, got 1"
        );
    }

    /// Writes a pprof profile of `seq * 100 kB` at `src/lib.rs:3`, taken
    /// `seq` minutes after `STARTED`.
    fn profile(dir: &Path, name: &str, seq: u64) -> PathBuf {
        let path = dir.join(name);
        let mut json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dump(dir, 999, 7, STARTED, seq)).unwrap(),
        )
        .unwrap();
        json["origin"]["taken_at_ms"] = (STARTED + seq * 60_000).into();
        let snap = Snapshot::from_json_bytes(json.to_string().as_bytes(), "x").unwrap();
        std::fs::remove_file(dir.join("snapshot-000999.json")).unwrap();
        snap.dump_pprof(&path).unwrap();
        path
    }

    #[test]
    fn pprof_profiles_are_one_run_in_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Numbered in their names, 10 after 9; a plain protobuf's name
        // says what it is.
        let files: Vec<_> = [
            (1, "heap.1.pb.gz"),
            (2, "heap.9.pb.gz"),
            (3, "heap.10.pprof"),
        ]
        .into_iter()
        .map(|(seq, name)| profile(d, name, seq))
        .collect();
        std::fs::write(d.join("notes.txt"), "{").unwrap();
        let (input, traces, note) = load(&opts(&[d.to_owned()])).unwrap();
        assert_eq!(note, None);
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        assert_eq!(input.names, names);
        let seqs: Vec<u64> = input
            .snapshots
            .iter()
            .map(|s| s.origin().unwrap().seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        let growth = growth(&traces);
        assert_eq!(growth.total(), (200_000, 200));
        let Traces::Series(fold) = traces else {
            panic!("three profiles are a series")
        };
        let judged = fold.judge(256);
        assert_eq!(judged.elapsed_ms, 120_000);
        assert_eq!(judged.sites[0].report.verdict, SiteVerdict::Leak);
        assert_eq!(judged.sites[0].report.file, "src/lib.rs");

        // Given the other way round, they are out of order.
        let mut reversed = files.clone();
        reversed.reverse();
        assert!(load_err(&reversed).contains("heap.9.pb.gz"));
    }

    #[test]
    fn a_profile_that_is_not_of_the_heap_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = profile(dir.path(), "heap.pb.gz", 1);
        let cpu = dir.path().join("cpu.pb");
        let mut p = Snapshot::load_pprof(&good).unwrap().to_pprof_profile();
        for t in &mut p.sample_type {
            t.ty = p.string_table.iter().position(|s| s == "space").unwrap() as i64;
        }
        std::fs::write(&cpu, leakcheck_format::pprof::encode(&p)).unwrap();
        assert_eq!(
            load_err(&[good, cpu.clone()]),
            format!(
                "pprof profile {} is corrupt or truncated: it has no inuse_space sample type \
                 (it has space/count, space/bytes); give a heap profile",
                cpu.display()
            )
        );
    }

    #[test]
    fn many_pids_are_cut_short() {
        let pids: Vec<String> = (1..=12).map(|p| p.to_string()).collect();
        assert_eq!(pid_list(&pids[..2]), "1, 2");
        assert_eq!(pid_list(&pids), "1, 2, 3, …, 11, 12");
    }
}
