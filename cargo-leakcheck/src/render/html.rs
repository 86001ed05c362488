//! The HTML report (`--html PATH`): one self-contained file, inline CSS and
//! inline SVG only, nothing fetched.
//!
//! The page opens with an overview: the count of each verdict and a row
//! per leak test and per session growth site, failures first, each linked
//! to its details below.
//!
//! Every leak test (or, for `cargo leakcheck diff`, the series) gets a card
//! per judged site with its verdict, figures, call path and a plot of the
//! bytes it retained at each checkpoint, over the lower envelope the
//! verdict judged: at each checkpoint the least the site holds from then
//! on. A leak's envelope keeps rising through the last half of the run; a
//! plateau's goes flat after the first third.
//!
//! The markup is also well-formed XML (void elements closed, attributes
//! with values), so tools and tests can parse it with an XML parser.

use std::fmt::Write;

use leakcheck_format::report::{SessionSite, SiteReport, SiteVerdict, TestReport};
use leakcheck_format::verdict::{LATE_SHARE, envelope_share, lower_envelope};

use super::neutralise;
use super::units::{bytes, rate};
use crate::outcome::{LeakStatus, RunOutcome};

/// What the x axis of the plots counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Measured calls of a leak test.
    Iterations,
    /// Milliseconds since the first snapshot (`cargo leakcheck diff`).
    Milliseconds,
}

/// How a test ended, as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing grew with the iteration count.
    Clean,
    /// A leak that matches its accepted snapshot.
    Accepted,
    /// A new or grown leak.
    Leak,
    /// The test failed for another reason.
    Failed,
    /// It could not be measured.
    Error,
}

impl Status {
    /// The badge: a leak test's leak is a new one (no accepted snapshot,
    /// or grown past it); a series has no snapshot to be new against.
    fn label(self, axis: Axis) -> &'static str {
        match self {
            Status::Clean => "clean",
            Status::Accepted => "accepted",
            Status::Leak if axis == Axis::Iterations => "NEW LEAK",
            Status::Leak => "LEAK",
            Status::Failed => "FAILED",
            Status::Error => "ERROR",
        }
    }

    /// Where the overview lists it: failures first.
    fn rank(self) -> u8 {
        match self {
            Status::Leak => 0,
            Status::Failed | Status::Error => 1,
            Status::Accepted => 3,
            Status::Clean => 4,
        }
    }

    fn class(self) -> &'static str {
        match self {
            Status::Clean => "ok",
            Status::Accepted => "warn",
            Status::Leak | Status::Failed => "bad",
            Status::Error => "warn",
        }
    }
}

/// One test on the page.
#[derive(Debug, Clone)]
pub struct TestEntry<'a> {
    /// How it ended.
    pub status: Status,
    /// Its report, with each site's series.
    pub report: &'a TestReport,
    /// A leak that grew past, or differs from, its accepted snapshot
    /// (still a new leak to the reader).
    pub grown: bool,
    /// Output that explains a failure.
    pub detail: Option<&'a str>,
}

/// A changed line of a two-snapshot comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffRow {
    /// `file:line` or the call path's charged frame.
    pub place: String,
    /// Bytes at the newer snapshot.
    pub size: i64,
    /// Bytes added since the older one.
    pub size_diff: i64,
    /// Blocks added since the older one.
    pub count_diff: i64,
}

/// A failed ordinary test or a test binary that could not be checked: a
/// row of the overview without a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// [`Status::Failed`] or [`Status::Error`].
    pub status: Status,
    /// The test binary.
    pub binary: String,
    /// The test's name, or empty for the whole binary.
    pub test: String,
    /// Why.
    pub note: String,
}

/// How a count in the overview reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A failure.
    Bad,
    /// Known, or not measured: not a failure, worth a look.
    Warn,
    /// Passed.
    Good,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::Good => "ok",
        }
    }
}

/// One count of the overview: `1 new leak`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// How it reads.
    pub tone: Tone,
    /// The count and what it counts, singular or plural as the count is.
    pub text: String,
}

impl Count {
    /// `n one` or `n many`, as `n` is.
    pub fn of(tone: Tone, n: usize, one: &str, many: &str) -> Self {
        Count {
            tone,
            text: format!("{n} {}", if n == 1 { one } else { many }),
        }
    }
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The page title.
    pub title: String,
    /// A line under the title (what was checked).
    pub subtitle: String,
    /// The verdicts' counts, failures first.
    pub counts: Vec<Count>,
    /// What the plots' x axis counts.
    pub axis: Axis,
    /// The tests, in the order shown.
    pub tests: Vec<TestEntry<'a>>,
    /// Failed ordinary tests and binaries that could not be checked.
    pub problems: Vec<Problem>,
    /// Session sites (none for `diff`).
    pub session: Vec<&'a SessionSite>,
    /// Whether there is a session section at all.
    pub has_session: bool,
    /// Two-snapshot comparison rows (only for `diff` of two snapshots).
    pub diff: Vec<DiffRow>,
}

impl<'a> Page<'a> {
    /// The page of a `cargo leakcheck` run: problems first.
    pub fn from_outcome(outcome: &'a RunOutcome) -> Self {
        let mut tests: Vec<TestEntry<'a>> = outcome
            .binaries
            .iter()
            .flat_map(|b| &b.leak_tests)
            .map(|t| TestEntry {
                status: match t.status {
                    LeakStatus::Clean => Status::Clean,
                    LeakStatus::Accepted => Status::Accepted,
                    LeakStatus::Leak => Status::Leak,
                    LeakStatus::Failed => Status::Failed,
                    LeakStatus::Fault => Status::Error,
                },
                report: &t.report,
                grown: t.grown,
                detail: t.detail.as_deref(),
            })
            .collect();
        tests.sort_by_key(|t| t.status.rank());
        let s = outcome.summary();
        let grown = tests
            .iter()
            .filter(|t| t.grown && t.status == Status::Leak)
            .count();
        let plural = |n: usize, one: &str, many: &str| Count::of(Tone::Good, n, one, many).text;
        let mut counts = Vec::new();
        let mut push = |tone, n: usize, one: &str, many: &str| {
            if n > 0 {
                counts.push(Count::of(tone, n, one, many));
            }
        };
        push(Tone::Bad, s.leaks, "new leak", "new leaks");
        push(Tone::Bad, s.failed, "failed test", "failed tests");
        push(
            Tone::Bad,
            s.growth_sites,
            "session growth site",
            "session growth sites",
        );
        push(Tone::Warn, s.faults, "error", "errors");
        push(Tone::Warn, s.accepted, "accepted leak", "accepted leaks");
        push(
            Tone::Warn,
            s.accepted_sites,
            "accepted session growth site",
            "accepted session growth sites",
        );
        push(Tone::Good, s.clean, "clean leak test", "clean leak tests");
        push(
            Tone::Good,
            s.one_time_sites,
            "one-time cost",
            "one-time costs",
        );
        if grown > 0 {
            // Said beside the count it is part of.
            if let Some(first) = counts.first_mut() {
                first.text.push_str(&format!(
                    " ({} past {} accepted snapshot)",
                    plural(grown, "grown", "grown"),
                    if grown == 1 { "its" } else { "their" }
                ));
            }
        }
        if counts.is_empty() {
            counts.push(Count {
                tone: Tone::Good,
                text: "nothing was judged".into(),
            });
        }
        Page {
            title: "cargo leakcheck".into(),
            subtitle: format!(
                "{} and {} checked",
                plural(s.leak_tests, "leak test", "leak tests"),
                // Those measured: a binary that ran untracked is not checked.
                plural(s.checked, "test binary", "test binaries")
            ),
            counts,
            axis: Axis::Iterations,
            tests,
            problems: outcome
                .binaries
                .iter()
                .flat_map(|b| {
                    let failed = b.failed_tests.iter().map(|t| Problem {
                        status: Status::Failed,
                        binary: b.binary.clone(),
                        test: t.clone(),
                        note: "the test failed (its output is in the human report)".into(),
                    });
                    let fault = b.fault.iter().map(|reason| Problem {
                        status: Status::Error,
                        binary: b.binary.clone(),
                        test: String::new(),
                        note: format!("the binary could not be checked: {reason}"),
                    });
                    failed.chain(fault)
                })
                .collect(),
            session: outcome
                .binaries
                .iter()
                .flat_map(|b| &b.session.sites)
                .collect(),
            has_session: true,
            diff: Vec::new(),
        }
    }

    /// The whole HTML document.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
             <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<p class=\"sub\">{}</p>\n",
            esc(&self.title),
            esc(&self.title),
            esc(&self.subtitle)
        );
        let at = match self.axis {
            Axis::Iterations => "checkpoint",
            Axis::Milliseconds => "snapshot",
        };
        out.push_str(&LEGEND.replace("{at}", at));
        out.push_str("</header>\n<main>\n");
        self.render_overview(&mut out);
        if !self.diff.is_empty() {
            self.render_diff(&mut out);
        }
        if !self.tests.is_empty() {
            let heading = match self.axis {
                Axis::Iterations => "Leak tests",
                Axis::Milliseconds => "Series",
            };
            let _ = writeln!(out, "<h2>{heading}</h2>");
        }
        for (i, t) in self.tests.iter().enumerate() {
            self.render_test(&mut out, t, i);
        }
        if self.has_session {
            render_session(&mut out, &self.session);
        }
        out.push_str("</main>\n</body>\n</html>\n");
        neutralise::xml_document(&out)
    }

    /// The counts, then a row per leak test (or series) and per session
    /// growth site: failures first, each linked to its details.
    fn render_overview(&self, out: &mut String) {
        out.push_str("<section class=\"overview\" id=\"overview\">\n<h2>Overview</h2>\n<ul class=\"counts\">");
        for c in &self.counts {
            let _ = write!(
                out,
                "<li class=\"count {}\">{}</li>",
                c.tone.class(),
                esc(&c.text)
            );
        }
        out.push_str("</ul>\n");
        // (rank, row): leak tests and growth sites, failures first.
        let mut rows: Vec<(u8, String)> = Vec::new();
        for (i, t) in self.tests.iter().enumerate() {
            let r = t.report;
            rows.push((
                t.status.rank(),
                format!(
                    "<tr><td><span class=\"badge {}\">{}</span></td><td class=\"bin\">{}</td>\
                     <td><a href=\"#test-{i}\">{}</a></td><td>{}</td></tr>\n",
                    t.status.class(),
                    t.status.label(self.axis),
                    esc(&r.binary),
                    esc(&r.name),
                    overview_note(t, self.axis)
                ),
            ));
        }
        for p in &self.problems {
            rows.push((
                p.status.rank(),
                format!(
                    "<tr><td><span class=\"badge {}\">{}</span></td><td class=\"bin\">{}</td>\
                     <td>{}</td><td>{}</td></tr>\n",
                    p.status.class(),
                    p.status.label(self.axis),
                    esc(&p.binary),
                    if p.test.is_empty() {
                        "(the whole binary)".to_owned()
                    } else {
                        esc(&p.test)
                    },
                    esc(&p.note)
                ),
            ));
        }
        for (i, s) in self.session.iter().enumerate() {
            let Some((rank, class, label)) = growth_kind(s) else {
                continue;
            };
            rows.push((
                rank,
                format!(
                    "<tr><td><span class=\"badge {class}\">{label}</span></td><td class=\"bin\">{}</td>\
                     <td><a href=\"#session-{i}\"><code>{}:{}</code></a> <span class=\"fn\">{}</span></td>\
                     <td>{} in {} blocks, left by {}</td></tr>\n",
                    esc(&s.binary),
                    esc(&s.file),
                    s.line,
                    esc(&s.function),
                    bytes(s.size_diff),
                    s.count_diff,
                    Count::of(Tone::Good, s.tests.len(), "test", "tests").text
                ),
            ));
        }
        if !rows.is_empty() {
            rows.sort_by_key(|r| r.0);
            let what = match self.axis {
                Axis::Iterations => "leak test or session site",
                Axis::Milliseconds => "series",
            };
            let _ = writeln!(
                out,
                "<table class=\"list overview\"><tr><th>result</th><th>binary</th>\
                 <th>{what}</th><th>what it retained</th></tr>"
            );
            for (_, row) in rows {
                out.push_str(&row);
            }
            out.push_str("</table>\n");
        }
        out.push_str("</section>\n");
    }

    fn render_test(&self, out: &mut String, t: &TestEntry<'_>, index: usize) {
        let r = t.report;
        let _ = write!(
            out,
            "<section class=\"test {}\" id=\"test-{index}\">\n<h3><span class=\"badge {}\">{}</span> \
             <span class=\"bin\">{}</span> {}</h3>\n<p class=\"meta\">{}</p>\n",
            t.status.class(),
            t.status.class(),
            t.status.label(self.axis),
            esc(&r.binary),
            esc(&r.name),
            esc(&test_note(t, self.axis))
        );
        if let Some(error) = &r.error {
            let _ = writeln!(out, "<p class=\"error\">{}</p>", esc(error));
        }
        if let Some(detail) = t.detail {
            let _ = writeln!(
                out,
                "<details><summary>output</summary><pre>{}</pre></details>",
                esc(detail)
            );
        }
        if r.sites.is_empty() && r.error.is_none() {
            out.push_str("<p class=\"none\">No site grew.</p>\n");
        }
        for s in &r.sites {
            self.render_site(out, s);
        }
        out.push_str("</section>\n");
    }

    fn render_site(&self, out: &mut String, s: &SiteReport) {
        let v = verdict_name(s.verdict);
        let (per, per_label, points) = match self.axis {
            Axis::Iterations => ("iter", "per iteration", "checkpoints"),
            Axis::Milliseconds => ("interval", "per snapshot interval", "snapshots"),
        };
        let _ = write!(
            out,
            "<article class=\"site\">\n<h4><span class=\"badge {}\">{v}</span> <code>{}:{}</code> \
             <span class=\"fn\">{}</span></h4>\n<table class=\"figures\"><tr>\
             <th title=\"{per_label}\">bytes/{per}</th><th title=\"{per_label}\">blocks/{per}</th>\
             <th>retained bytes</th><th>retained blocks</th><th>{points}</th></tr>\n\
             <tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>\n",
            if s.verdict == SiteVerdict::Leak {
                "bad"
            } else {
                "ok"
            },
            esc(&s.file),
            s.line,
            esc(&s.function),
            rate(s.bytes_per_iter, per),
            s.blocks_per_iter,
            bytes(s.size_diff),
            s.count_diff,
            s.series.len()
        );
        if s.series.is_empty() {
            out.push_str("<p class=\"none\">No checkpoint series in this report.</p>\n");
        } else {
            out.push_str(&plot(&s.series, self.axis));
            let _ = writeln!(
                out,
                "<p class=\"why\">{}</p>",
                esc(&explain(&s.series, s.verdict))
            );
        }
        for retainer in &s.retained_by {
            let _ = writeln!(
                out,
                "<p class=\"retained\">retained by <code>{}</code></p>",
                esc(&retainer.line())
            );
        }
        if !s.traceback.is_empty() {
            out.push_str("<details open=\"open\"><summary>call path</summary><ol class=\"path\">");
            for frame in &s.traceback {
                let _ = write!(out, "<li><code>{}</code></li>", esc(frame));
            }
            out.push_str("</ol></details>\n");
        }
        out.push_str("</article>\n");
    }

    fn render_diff(&self, out: &mut String) {
        out.push_str(
            "<h2>Changes</h2>\n<p class=\"none\">Two snapshots give a comparison, not a series: \
             there is no verdict and nothing to plot. Give three or more snapshots for the \
             growth verdict and its plots.</p>\n<table class=\"list\"><tr><th>site</th>\
             <th>size</th><th>size diff</th><th>count diff</th></tr>\n",
        );
        for d in &self.diff {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:+}</td></tr>",
                esc(&d.place),
                bytes(d.size),
                bytes(d.size_diff),
                d.count_diff
            );
        }
        out.push_str("</table>\n");
    }
}

fn test_note(t: &TestEntry<'_>, axis: Axis) -> String {
    let r = t.report;
    let span = match axis {
        Axis::Iterations => format!("{} measured iterations", r.iters),
        Axis::Milliseconds => format!("{} snapshots after the first", r.iters),
    };
    let what = match t.status {
        Status::Clean => "no site kept growing with the iteration count",
        Status::Accepted => "a known leak: it matches its accepted snapshot",
        Status::Leak if t.grown => {
            "a new leak: it grew past, or differs from, its accepted snapshot"
        }
        Status::Leak => "a new leak: it has no accepted snapshot",
        Status::Failed => "the test failed",
        Status::Error => "it could not be measured",
    };
    let what = match axis {
        Axis::Milliseconds if t.status == Status::Clean => "nothing kept growing",
        Axis::Milliseconds if t.status == Status::Leak => "a site keeps growing",
        _ => what,
    };
    format!("{span}; {what}")
}

/// A leak test's row in the overview: its worst leaking site, or what
/// else it ended with.
fn overview_note(t: &TestEntry<'_>, axis: Axis) -> String {
    let r = t.report;
    let per = match axis {
        Axis::Iterations => "iter",
        Axis::Milliseconds => "interval",
    };
    let leaking: Vec<&SiteReport> = r
        .sites
        .iter()
        .filter(|s| s.verdict == SiteVerdict::Leak)
        .collect();
    if let Some(worst) = leaking
        .iter()
        .max_by(|a, b| a.bytes_per_iter.total_cmp(&b.bytes_per_iter))
    {
        let more = match leaking.len() {
            1 => String::new(),
            n => format!(
                " and {}",
                Count::of(Tone::Bad, n - 1, "more leaking site", "more leaking sites").text
            ),
        };
        let why = match (t.status, t.grown) {
            (Status::Leak, true) if axis == Axis::Iterations => "; grew past its accepted snapshot",
            (Status::Leak, false) if axis == Axis::Iterations => "; no accepted snapshot",
            _ => "",
        };
        return format!(
            "{} at <code>{}:{}</code>{more}{why}",
            esc(&rate(worst.bytes_per_iter, per)),
            esc(&worst.file),
            worst.line
        );
    }
    match (&r.error, r.sites.is_empty()) {
        (Some(error), _) => esc(error),
        (None, true) => "nothing grew".to_owned(),
        (None, false) => {
            let levels = r
                .sites
                .iter()
                .filter(|s| s.verdict == SiteVerdict::Plateau)
                .count();
            let falls = r.sites.len() - levels;
            let mut parts = Vec::new();
            if levels > 0 {
                parts
                    .push(Count::of(Tone::Good, levels, "site levels off", "sites level off").text);
            }
            if falls > 0 {
                parts.push(
                    Count::of(
                        Tone::Good,
                        falls,
                        "site rises and falls",
                        "sites rise and fall",
                    )
                    .text,
                );
            }
            format!("no leak: {}", parts.join(", "))
        }
    }
}

/// How a session site with growth shows: its overview rank, class and
/// badge; `None` for a one-time cost.
fn growth_kind(s: &SessionSite) -> Option<(u8, &'static str, &'static str)> {
    if !s.growth {
        None
    } else if s.fails() {
        Some((2, "bad", "SESSION GROWTH"))
    } else if s.accepted {
        Some((3, "warn", "accepted growth"))
    } else {
        Some((4, "ok", "test framework"))
    }
}

fn render_session(out: &mut String, sites: &[&SessionSite]) {
    out.push_str(
        "<h2 id=\"session\">Session sites</h2>\n<p class=\"none\">A session runs every test of a binary \
         once and looks at what is still live at its end, so a session site has no \
         checkpoints to plot: its figures and the tests that left memory there are shown \
         instead. Growth is memory left by several tests; a one-time cost is left once.</p>\n",
    );
    if sites.is_empty() {
        out.push_str("<p class=\"none\">No memory was left behind by the sessions.</p>\n");
        return;
    }
    let mut growth: Vec<(usize, &SessionSite)> = sites
        .iter()
        .enumerate()
        .filter(|(_, s)| s.growth)
        .map(|(i, s)| (i, *s))
        .collect();
    growth.sort_by_key(|(_, s)| growth_kind(s).map_or(u8::MAX, |k| k.0));
    for (i, s) in growth {
        let (_, class, label) = growth_kind(s).unwrap_or((0, "bad", "SESSION GROWTH"));
        let _ = write!(
            out,
            "<section class=\"test {class}\" id=\"session-{i}\">\n<h3><span class=\"badge {class}\">{label}</span> \
             <span class=\"bin\">{}</span> <code>{}:{}</code> <span class=\"fn\">{}</span></h3>\n\
             <table class=\"figures\"><tr><th>retained bytes</th><th>retained blocks</th>\
             <th>tests</th></tr>\n<tr><td>{}</td><td>{}</td><td>{}</td></tr></table>\n\
             <p class=\"meta\">left by each of {}</p>\n{}</section>\n",
            esc(&s.binary),
            esc(&s.file),
            s.line,
            esc(&s.function),
            bytes(s.size_diff),
            s.count_diff,
            s.tests.len(),
            test_names(&s.tests),
            s.retained_by
                .iter()
                .map(|r| format!(
                    "<p class=\"retained\">retained by <code>{}</code></p>\n",
                    esc(&r.line())
                ))
                .collect::<String>()
        );
    }
    let once: Vec<&&SessionSite> = sites.iter().filter(|s| !s.growth).collect();
    if once.is_empty() {
        return;
    }
    out.push_str(
        "<section class=\"test ok\">\n<h3><span class=\"badge ok\">one-time costs</span> \
         left once, like warm-up; not failures</h3>\n<table class=\"list\"><tr><th>site</th>\
         <th>binary</th><th>retained bytes</th><th>retained blocks</th><th class=\"names\">left by</th></tr>\n",
    );
    for s in once {
        let _ = writeln!(
            out,
            "<tr><td><code>{}:{}</code> <span class=\"fn\">{}</span></td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"names\">{}</td></tr>",
            esc(&s.file),
            s.line,
            esc(&s.function),
            esc(&s.binary),
            bytes(s.size_diff),
            s.count_diff,
            test_names(&s.tests)
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// The tests' names, as code, comma separated.
fn test_names(tests: &[String]) -> String {
    tests
        .iter()
        .map(|t| format!("<code>{}</code>", esc(t)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn verdict_name(v: SiteVerdict) -> &'static str {
    match v {
        SiteVerdict::Leak => "leak",
        SiteVerdict::Plateau => "plateau",
        SiteVerdict::Fluctuating => "fluctuating",
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The series from the baseline: `(0, 0)` first, as the verdict sees it.
fn with_baseline(series: &[[i64; 2]]) -> Vec<(i64, i64)> {
    let mut points = vec![(0, 0)];
    points.extend(series.iter().map(|p| (p[0], p[1])).filter(|p| p.0 > 0));
    points
}

/// The share of the envelope's growth reached at `num/den` of the run, as
/// the verdict reads it.
fn share_at(env: &[(i64, i64)], num: u64, den: u64) -> f64 {
    let env: Vec<(u64, f64)> = env
        .iter()
        .map(|&(x, y)| (x.max(0) as u64, y as f64))
        .collect();
    envelope_share(&env, num, den)
}

/// A share of the verdict's rule in words: `a quarter`.
fn share_words(share: f64) -> String {
    let named = [
        (0.25, "a quarter"),
        (0.5, "half"),
        (1.0 / 3.0, "a third"),
        (0.125, "an eighth"),
        (0.1, "a tenth"),
    ];
    named
        .iter()
        .find(|(value, _)| (share - value).abs() < 1e-9)
        .map_or_else(
            || format!("{:.0}%", share * 100.0),
            |(_, words)| (*words).to_owned(),
        )
}

/// One sentence on why the plot reads as its verdict, in the terms of the
/// verdict's rule (its share, [`LATE_SHARE`], said in words).
fn explain(series: &[[i64; 2]], verdict: SiteVerdict) -> String {
    let env = lower_envelope(&with_baseline(series));
    let after_third = 1.0 - share_at(&env, 1, 3);
    let last_half = 1.0 - share_at(&env, 1, 2);
    let rule = share_words(LATE_SHARE);
    let pct = |share: f64| format!("{:.0}%", share * 100.0);
    match verdict {
        SiteVerdict::Leak if last_half >= LATE_SHARE => format!(
            "The lower envelope keeps rising: {} of its growth came after the first third of \
             the run and {} in the last half (shaded), at least {rule} in each, so the memory \
             grows with the run, not towards a bound.",
            pct(after_third),
            pct(last_half)
        ),
        SiteVerdict::Leak => "Retained bytes rise and fall, but the whole series moves up: \
             every value in the last quarter of the run is above every value in the first \
             quarter, by more than the early values spread, so it is a leak."
            .to_owned(),
        SiteVerdict::Plateau if after_third < LATE_SHARE => format!(
            "The lower envelope levels off: only {} of its growth came after the first third \
             of the run, less than {rule}, so this is a bound being reached (a cache filling, \
             a table built once), not a leak.",
            pct(after_third)
        ),
        SiteVerdict::Plateau => format!(
            "The lower envelope levels off late: {} of its growth came after the first third \
             of the run but only {} in the last half (shaded), less than {rule}, so this is a \
             bound reached late, not a leak.",
            pct(after_third),
            pct(last_half)
        ),
        SiteVerdict::Fluctuating => "Retained bytes rise and fall: the site frees what it \
             gathers, and the late values do not clear the early ones, so it is not a leak."
            .to_owned(),
    }
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;

/// The inline SVG plot of a series and its lower envelope.
fn plot(series: &[[i64; 2]], axis: Axis) -> String {
    let points = with_baseline(series);
    let env = lower_envelope(&points);
    let x_max = points.iter().map(|p| p.0).max().unwrap_or(1).max(1) as f64;
    let y_min = points.iter().map(|p| p.1).min().unwrap_or(0).min(0) as f64;
    let y_max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1) as f64;
    let y_span = (y_max - y_min).max(1.0);
    let px = |x: i64| LEFT + x as f64 / x_max * (W - LEFT - RIGHT);
    let py = |y: i64| TOP + (y_max - y as f64) / y_span * (H - TOP - BOTTOM);
    let line = |ps: &[(i64, i64)]| {
        ps.iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"plot\" viewBox=\"0 0 {W} {H}\" \
         width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"retained bytes at each checkpoint\">"
    );
    // The last half of the run, where a leak must still grow.
    let half = px((x_max / 2.0) as i64);
    let _ = writeln!(
        svg,
        "<rect class=\"half\" x=\"{half:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\"/>",
        W - RIGHT - half,
        H - TOP - BOTTOM
    );
    for i in 0..=4 {
        let v = y_min + y_span * i as f64 / 4.0;
        let y = py(v as i64);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&bytes(v as i64))
        );
    }
    for i in 0..=4 {
        let v = (x_max * i as f64 / 4.0) as i64;
        let x = px(v);
        let label = match axis {
            Axis::Iterations => v.to_string(),
            Axis::Milliseconds => format!("{:.1} s", v as f64 / 1000.0),
        };
        let _ = writeln!(
            svg,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            H - BOTTOM + 16.0
        );
    }
    let x_name = match axis {
        Axis::Iterations => "measured iterations",
        Axis::Milliseconds => "time since the first snapshot",
    };
    let _ = writeln!(
        svg,
        "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{x_name}</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 4.0
    );
    let _ = writeln!(
        svg,
        "<polyline class=\"retained\" points=\"{}\"><title>retained bytes</title></polyline>",
        line(&points)
    );
    // On top, dashed: where it matches the series both stay visible.
    let _ = writeln!(
        svg,
        "<polyline class=\"envelope\" points=\"{}\"><title>lower envelope</title></polyline>",
        line(&env)
    );
    for &(x, y) in &points {
        let _ = writeln!(
            svg,
            "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{x}: {}</title></circle>",
            px(x),
            py(y),
            esc(&bytes(y))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

const LEGEND: &str = "<p class=\"legend\"><svg width=\"28\" height=\"10\"><line class=\"retained\" \
x1=\"0\" y1=\"5\" x2=\"28\" y2=\"5\"/></svg> retained bytes at each {at} \
<svg width=\"28\" height=\"10\"><line class=\"envelope\" x1=\"0\" y1=\"5\" x2=\"28\" y2=\"5\"/></svg> \
lower envelope (the least held from then on), which the verdict judges \
<svg width=\"14\" height=\"10\"><rect class=\"half\" width=\"14\" height=\"10\"/></svg> \
last half, where a leak still grows</p>\n";

const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:16px 24px}
h1{margin:0 0 4px;font-size:22px}
h2{font-size:18px;margin:24px 0 8px}
h3{font-size:15px;margin:0 0 4px}
h4{font-size:14px;margin:0 0 6px}
main{padding:0 24px 32px;max-width:1100px}
.sub,.meta,.none,.legend{color:#57606a;margin:4px 0}
.legend svg{vertical-align:middle}
section.test{background:#fff;border:1px solid #d0d7de;border-left:5px solid #8c959f;border-radius:6px;padding:12px 16px;margin:12px 0}
section.bad{border-left-color:#cf222e}
section.ok{border-left-color:#1a7f37}
section.warn{border-left-color:#bf8700}
article.site{border-top:1px solid #eaeef2;padding-top:10px;margin-top:10px}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;color:#fff;background:#8c959f}
.badge.bad{background:#cf222e}
.badge.ok{background:#1a7f37}
.badge.warn{background:#9a6700}
.bin{color:#57606a;font-weight:normal}
.fn{color:#57606a;font-weight:normal;font-size:13px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table{border-collapse:collapse;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:3px 10px;text-align:right}
th{background:#f6f8fa;font-weight:600}
table.list td:first-child,table.list th:first-child,.names{text-align:left}
.error{color:#cf222e}
section.overview{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:16px 0}
section.overview h2{margin:0 0 8px}
ul.counts{list-style:none;margin:0 0 8px;padding:0;display:flex;flex-wrap:wrap;gap:6px}
li.count{border:1px solid #d0d7de;border-radius:12px;padding:2px 10px;font-weight:600}
li.count.bad{color:#cf222e;border-color:#cf222e;background:#ffebe9}
li.count.warn{color:#9a6700;border-color:#bf8700;background:#fff8c5}
li.count.ok{color:#1a7f37;border-color:#1a7f37;background:#dafbe1}
table.overview td,table.overview th{text-align:left}
table.overview td:first-child{white-space:nowrap}
a{color:#0969da;text-decoration:none}
a:hover{text-decoration:underline}
.why{color:#1f2328;margin:4px 0 6px;max-width:640px}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:320px}
ol.path{margin:4px 0;padding-left:28px}
svg.plot{display:block;background:#fff;max-width:100%;height:auto}
.grid{stroke:#eaeef2;stroke-width:1}
.tick{font-size:11px;fill:#57606a}
.axis{font-size:12px;fill:#57606a}
rect.half{fill:#fff8c5;opacity:.7}
.retained{fill:none;stroke:#0969da;stroke-width:2}
.envelope{fill:none;stroke:#cf222e;stroke-width:2;stroke-dasharray:6 4}
.point{fill:#0969da}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_envelope() {
        // A plateau: everything by a third of the run.
        let env = lower_envelope(&with_baseline(&[
            [10, 1000],
            [20, 1000],
            [30, 1000],
            [60, 1000],
        ]));
        assert_eq!(share_at(&env, 1, 3), 1.0);
        // Steady growth: half of it in the last half.
        let env = lower_envelope(&with_baseline(&[
            [25, 250],
            [50, 500],
            [75, 750],
            [100, 1000],
        ]));
        assert_eq!(share_at(&env, 1, 2), 0.5);
    }

    #[test]
    fn the_rule_is_said_in_words() {
        assert_eq!(share_words(LATE_SHARE), "a quarter");
        assert_eq!(share_words(0.3), "30%");
    }

    #[test]
    fn a_plateau_reached_late_is_explained_by_the_rule_it_met() {
        // Half the growth after the first third, a fifth in the last half:
        // a plateau at the cap by the last half's quarter, not by the
        // first third's.
        let series = [[10, 250], [20, 500], [30, 800], [40, 1000], [60, 1000]];
        let why = explain(&series, SiteVerdict::Plateau);
        assert_eq!(
            why,
            "The lower envelope levels off late: 50% of its growth came after the first third \
             of the run but only 20% in the last half (shaded), less than a quarter, so this \
             is a bound reached late, not a leak."
        );
        let early = explain(&[[10, 1000], [20, 1000], [60, 1000]], SiteVerdict::Plateau);
        assert!(
            early.starts_with(
                "The lower envelope levels off: only 0% of its growth came after the first \
                 third of the run, less than a quarter,"
            ),
            "{early}"
        );
    }

    #[test]
    fn what_retains_a_leak_is_shown_in_the_html_and_junit_reports() {
        let (run, lines) = crate::render::human::tests::mixed_with_retainers();
        let page = Page::from_outcome(&run).render();
        let junit = crate::render::junit::render(&run);
        for line in lines {
            assert!(
                page.contains(&format!("retained by <code>{}</code>", esc(line))),
                "{page}"
            );
            assert!(junit.contains(&format!("retained by  {line}")), "{junit}");
        }
    }

    #[test]
    fn a_grown_leak_counts_as_a_new_leak_and_failures_come_first() {
        let mut run = crate::render::human::tests::mixed();
        run.binaries[1].leak_tests[0].grown = true;
        let page = Page::from_outcome(&run).render();
        let counts: Vec<&str> = page
            .split("<li class=\"count ")
            .skip(1)
            .map(|c| c.split('<').next().unwrap())
            .collect();
        assert_eq!(
            counts,
            [
                "bad\">1 new leak (1 grown past its accepted snapshot)",
                "bad\">1 failed test",
                "bad\">1 session growth site",
                "warn\">2 errors",
                "warn\">1 accepted leak",
                "ok\">1 clean leak test",
                "ok\">1 one-time cost",
            ]
        );
        let row = |name: &str| page.find(&format!("{name}</a>")).unwrap();
        assert!(row("handle_request_retains_every_payload") < row("crashes"));
        let other = |text: &str| page.find(text).unwrap();
        assert!(other("tests::broken</td>") < row("<code>src/lib.rs:7</code>"));
        assert!(other("(the whole binary)</td>") < row("<code>src/lib.rs:7</code>"));
        assert!(page.contains("the binary could not be checked: killed by signal 6"));
        assert!(row("crashes") < row("<code>src/lib.rs:7</code>"));
        assert!(row("<code>src/lib.rs:7</code>") < row("known_leak"));
        assert!(row("known_leak") < row("plateau"));
        assert!(page.contains(
            "1.0 KiB/iter at <code>src/lib.rs:10</code>; grew past its accepted snapshot"
        ));
        assert!(page.find("id=\"overview\"").unwrap() < page.find("id=\"test-0\"").unwrap());
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<script>a && 'b' \"c\"</script>"),
            "&lt;script&gt;a &amp;&amp; &#39;b&#39; &quot;c&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn a_plot_has_both_lines_and_a_point_per_checkpoint() {
        let svg = plot(&[[10, 100], [20, 50], [40, 400]], Axis::Iterations);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 4, "{svg}");
        assert!(svg.contains("class=\"envelope\""), "{svg}");
        // The envelope holds 50 at the first checkpoint, where the series holds 100.
        let env = svg
            .split("class=\"envelope\" points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let retained = svg
            .split("class=\"retained\" points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let env: Vec<&str> = env.split(' ').collect();
        let retained: Vec<&str> = retained.split(' ').collect();
        let y = |p: &str| p.split(',').nth(1).unwrap().to_owned();
        let x = |p: &str| p.split(',').next().unwrap().to_owned();
        assert_eq!(x(env[1]), x(retained[1]));
        assert_eq!(y(env[1]), y(retained[2]));
        assert_eq!(env[3], retained[3]);
    }
}
