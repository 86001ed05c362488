//! The two texts of a leak test's report: the failure message a person
//! reads in the terminal, and the normalised text kept as a snapshot.

use std::fmt::Write as _;

use crate::report::{SiteReport, SiteVerdict, TestReport, TestVerdict};

/// The failure message: the verdict, tracemalloc-style rows of the leaking
/// sites, then the call path of the worst one.
///
/// ```text
/// unbounded_cache leaks: 1 allocation site grew with the iteration count (10000 calls after 1 warm-up)
///
///   +10000.0 KiB  count  10000  src/lib.rs:15  (1024.0 B/iter, 1.00 blocks/iter)
///
/// call path of src/lib.rs:15 (oldest first):
///   tests/leaks.rs:5 in leaks::unbounded_cache::{{closure}}
///   src/lib.rs:15 in leaky::cache_payload
/// ```
pub fn failure_message(report: &TestReport, warmup: u64) -> String {
    let leaks: Vec<&SiteReport> = leaking(report).collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "{} leaks: {} allocation site{} grew with the iteration count ({} calls after {} warm-up)",
        report.name,
        leaks.len(),
        if leaks.len() == 1 { "" } else { "s" },
        report.iters,
        warmup
    );
    out.push_str("\n\n");
    for site in &leaks {
        let _ = writeln!(out, "  {site}");
    }
    if let Some(worst) = leaks.first().filter(|s| !s.traceback.is_empty()) {
        let _ = writeln!(
            out,
            "\ncall path of {}:{} (oldest first):",
            worst.file, worst.line
        );
        for line in &worst.traceback {
            let _ = writeln!(out, "  {line}");
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    out
}

/// The report as kept in a snapshot: leaking sites by `path:line` and
/// function, their class, and rates rounded to the nearest of 1, 2, 5
/// times a power of ten, so that neither noise nor the number of calls
/// the loop ran changes it. No addresses, no absolute paths.
pub fn normalised(report: &TestReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "test: {}", report.name);
    let verdict = match report.verdict {
        TestVerdict::Leak => "leak",
        TestVerdict::Clean => "clean",
        TestVerdict::Error => "error",
    };
    let _ = writeln!(out, "verdict: {verdict}");
    let mut sites: Vec<&SiteReport> = leaking(report).collect();
    sites.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    for site in sites {
        let _ = writeln!(
            out,
            "{}:{}  {}  leak  ~{} B/iter  ~{} blocks/iter",
            relative(&site.file),
            site.line,
            site.function,
            bucket(site.bytes_per_iter),
            bucket(site.blocks_per_iter)
        );
    }
    out
}

fn leaking(report: &TestReport) -> impl Iterator<Item = &SiteReport> {
    report
        .sites
        .iter()
        .filter(|s| s.verdict == SiteVerdict::Leak)
}

/// `x` rounded, in log scale, to the nearest of 1, 2 or 5 times a power
/// of ten (edges at √2, √10 and √50 of each decade).
pub fn bucket(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return "0".to_owned();
    }
    let decade = x.log10().floor() as i32;
    let mantissa = x / 10f64.powi(decade);
    let (step, decade) = if mantissa < 2f64.sqrt() {
        (1.0, decade)
    } else if mantissa < 10f64.sqrt() {
        (2.0, decade)
    } else if mantissa < 50f64.sqrt() {
        (5.0, decade)
    } else {
        (1.0, decade + 1)
    };
    let value = step * 10f64.powi(decade);
    if decade >= 0 {
        format!("{value:.0}")
    } else {
        format!("{value:.*}", (-decade) as usize)
    }
}

/// A workspace or registry path as it is; an absolute one (a file outside
/// the workspace) cut to its last two components.
fn relative(file: &str) -> String {
    let absolute = file.starts_with('/') || file.as_bytes().get(1) == Some(&b':');
    if !absolute {
        return file.to_owned();
    }
    let parts: Vec<&str> = file.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    format!(".../{}", parts[parts.len().saturating_sub(2)..].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(verdict: SiteVerdict, file: &str, line: u32, bytes: f64, blocks: f64) -> SiteReport {
        SiteReport {
            retained_by: Vec::new(),
            file: file.into(),
            line,
            function: "fixture::handle_request".into(),
            verdict,
            bytes_per_iter: bytes,
            blocks_per_iter: blocks,
            size_diff: (bytes * 10_000.0) as i64,
            count_diff: (blocks * 10_000.0) as i64,
            traceback: vec![
                "tests/leak.rs:5 in leak::handle::{{closure}}".into(),
                format!("{file}:{line} in fixture::handle_request"),
            ],
            series: Vec::new(),
            caller: None,
        }
    }

    fn report(sites: Vec<SiteReport>) -> TestReport {
        TestReport {
            binary: String::new(),
            name: "handle".into(),
            verdict: TestVerdict::Leak,
            iters: 10_000,
            sites,
            error: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn rows_read_like_tracemalloc() {
        let s = site(SiteVerdict::Leak, "src/lib.rs", 10, 1024.0, 1.0);
        assert_eq!(
            s.to_string(),
            "+10000.0 KiB  count  10000  src/lib.rs:10  (1024.0 B/iter, 1.00 blocks/iter)"
        );
    }

    #[test]
    fn failure_message_shows_leaks_and_the_worst_path() {
        let r = report(vec![
            site(SiteVerdict::Leak, "src/lib.rs", 10, 1024.0, 1.0),
            site(SiteVerdict::Plateau, "src/lib.rs", 20, 4.0, 0.0),
            site(SiteVerdict::Leak, "src/lib.rs", 30, 8.0, 0.1),
        ]);
        let msg = failure_message(&r, 1);
        assert_eq!(
            msg,
            "handle leaks: 2 allocation sites grew with the iteration count (10000 calls after 1 warm-up)

  +10000.0 KiB  count  10000  src/lib.rs:10  (1024.0 B/iter, 1.00 blocks/iter)
  +78.1 KiB  count   1000  src/lib.rs:30  (8.0 B/iter, 0.10 blocks/iter)

call path of src/lib.rs:10 (oldest first):
  tests/leak.rs:5 in leak::handle::{{closure}}
  src/lib.rs:10 in fixture::handle_request
"
        );
    }

    #[test]
    fn failure_message_ends_with_the_warnings() {
        let mut r = report(vec![site(SiteVerdict::Leak, "src/lib.rs", 10, 1024.0, 1.0)]);
        r.warnings = vec!["the stack table is full".into()];
        let text = failure_message(&r, 1);
        assert!(
            text.trim_end()
                .ends_with("warning: the stack table is full"),
            "{text}"
        );
        assert!(!normalised(&r).contains("warning"));
    }

    #[test]
    fn normalised_text_is_stable_under_noise() {
        let a = report(vec![
            site(SiteVerdict::Leak, "src/lib.rs", 10, 1024.0, 1.0),
            site(SiteVerdict::Plateau, "src/lib.rs", 20, 4.0, 0.0),
        ]);
        let b = report(vec![site(
            SiteVerdict::Leak,
            "src/lib.rs",
            10,
            1031.5,
            0.999,
        )]);
        assert_eq!(normalised(&a), normalised(&b));
        assert_eq!(
            normalised(&a),
            "test: handle\nverdict: leak\n\
             src/lib.rs:10  fixture::handle_request  leak  ~1000 B/iter  ~1 blocks/iter\n"
        );
    }

    #[test]
    fn buckets_are_1_2_5() {
        let cases = [
            (0.0, "0"),
            (0.8, "1"),
            (0.1, "0.1"),
            (0.07, "0.05"),
            (1.0, "1"),
            (1.5, "2"),
            (8.0, "10"),
            (16.0, "20"),
            (48.0, "50"),
            (64.0, "50"),
            (256.0, "200"),
            (1024.0, "1000"),
            (4000.0, "5000"),
            (7500.0, "10000"),
        ];
        for (x, want) in cases {
            assert_eq!(bucket(x), want, "{x}");
        }
    }

    #[test]
    fn absolute_paths_are_cut() {
        assert_eq!(relative("src/lib.rs"), "src/lib.rs");
        assert_eq!(relative("lru-0.6.0/src/lib.rs"), "lru-0.6.0/src/lib.rs");
        assert_eq!(relative("/home/me/elsewhere/src/x.rs"), ".../src/x.rs");
    }
}
