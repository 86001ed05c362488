//! The HTML report (`--html PATH`): one self-contained file, inline CSS and
//! inline SVG only, nothing fetched.
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

use leakcheck_rt::report::{
    SessionSite, SiteReport, SiteVerdict, TestReport, envelope_share, lower_envelope,
};

use super::neutralise;
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
    fn label(self) -> &'static str {
        match self {
            Status::Clean => "clean",
            Status::Accepted => "accepted",
            Status::Leak => "LEAK",
            Status::Failed => "FAILED",
            Status::Error => "ERROR",
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

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The page title.
    pub title: String,
    /// A line under the title (the counts).
    pub subtitle: String,
    /// What the plots' x axis counts.
    pub axis: Axis,
    /// The tests, in the order shown.
    pub tests: Vec<TestEntry<'a>>,
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
                detail: t.detail.as_deref(),
            })
            .collect();
        tests.sort_by_key(|t| match t.status {
            Status::Leak => 0,
            Status::Failed | Status::Error => 1,
            Status::Accepted => 2,
            Status::Clean => 3,
        });
        let s = outcome.summary();
        Page {
            title: "cargo leakcheck".into(),
            subtitle: format!(
                "{} leak tests: {} clean, {} new leaks, {} accepted, {} failed, {} not measured; \
                 {} session growth sites, {} one-time costs; {} test binaries",
                s.leak_tests,
                s.clean,
                s.leaks,
                s.accepted,
                s.failed,
                s.faults,
                s.growth_sites,
                s.one_time_sites,
                s.binaries
            ),
            axis: Axis::Iterations,
            tests,
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

    fn render_test(&self, out: &mut String, t: &TestEntry<'_>, index: usize) {
        let r = t.report;
        let _ = write!(
            out,
            "<section class=\"test {}\" id=\"test-{index}\">\n<h3><span class=\"badge {}\">{}</span> \
             <span class=\"bin\">{}</span> {}</h3>\n<p class=\"meta\">{}</p>\n",
            t.status.class(),
            t.status.class(),
            t.status.label(),
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
             <th title=\"{per_label}\">B/{per}</th><th title=\"{per_label}\">blocks/{per}</th>\
             <th>retained bytes</th><th>retained blocks</th><th>{points}</th></tr>\n\
             <tr><td>{:.1}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>\n",
            if s.verdict == SiteVerdict::Leak {
                "bad"
            } else {
                "ok"
            },
            esc(&s.file),
            s.line,
            esc(&s.function),
            s.bytes_per_iter,
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
        Status::Clean => "nothing grew with the iteration count",
        Status::Accepted => "a known leak: it matches its accepted snapshot",
        Status::Leak => "a new leak, or one that grew past its accepted snapshot",
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
    for s in sites.iter().filter(|s| s.growth) {
        let _ = write!(
            out,
            "<section class=\"test bad\">\n<h3><span class=\"badge bad\">GROWTH</span> \
             <span class=\"bin\">{}</span> <code>{}:{}</code> <span class=\"fn\">{}</span></h3>\n\
             <table class=\"figures\"><tr><th>retained bytes</th><th>retained blocks</th>\
             <th>tests</th></tr>\n<tr><td>{}</td><td>{}</td><td>{}</td></tr></table>\n\
             <p class=\"meta\">left by each of {}</p>\n</section>\n",
            esc(&s.binary),
            esc(&s.file),
            s.line,
            esc(&s.function),
            bytes(s.size_diff),
            s.count_diff,
            s.tests.len(),
            test_names(&s.tests)
        );
    }
    let once: Vec<&&SessionSite> = sites.iter().filter(|s| !s.growth).collect();
    if once.is_empty() {
        return;
    }
    out.push_str(
        "<section class=\"test ok\">\n<h3><span class=\"badge ok\">one-time costs</span> \
         left once, like warm-up; not failures</h3>\n<table class=\"list\"><tr><th>site</th>\
         <th>binary</th><th>retained bytes</th><th>retained blocks</th><th>left by</th></tr>\n",
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

/// `12.0 KiB`, `+3.4 MiB`.
fn bytes(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    if a >= 1024.0 * 1024.0 {
        format!("{sign}{:.1} MiB", a / (1024.0 * 1024.0))
    } else if a >= 1024.0 {
        format!("{sign}{:.1} KiB", a / 1024.0)
    } else {
        format!("{sign}{a} B")
    }
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

/// One sentence on why the plot reads as its verdict.
fn explain(series: &[[i64; 2]], verdict: SiteVerdict) -> String {
    let env = lower_envelope(&with_baseline(series));
    let after_third = (1.0 - share_at(&env, 1, 3)) * 100.0;
    let last_half = (1.0 - share_at(&env, 1, 2)) * 100.0;
    match verdict {
        SiteVerdict::Leak => format!(
            "The lower envelope keeps rising: {after_third:.0}% of its growth came after the \
             first third of the run and {last_half:.0}% in the last half (shaded), so the \
             memory grows with the run, not towards a bound."
        ),
        SiteVerdict::Plateau => format!(
            "The lower envelope levels off: only {after_third:.0}% of its growth came after \
             the first third of the run, so this is a bound being reached (a cache filling, \
             a table built once), not a leak."
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
table.list td:first-child,table.list th:first-child,td.names{text-align:left}
.error{color:#cf222e}
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
