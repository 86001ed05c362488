//! The measured loop, in this process: warm up, baseline, checkpoints,
//! verdict, and the report of what grew.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};

use super::LeakTestConfig;
use super::series::{GrowthSeries, Outcome, Plan};
use crate::symbolize;
use crate::take;
use leakcheck_engine as alloc;
use leakcheck_format::caller::workspace_caller;
use leakcheck_format::report::{SiteReport, SiteVerdict, TestReport, TestVerdict};
use leakcheck_format::statistic;
use leakcheck_format::verdict::Thresholds;
use leakcheck_format::{KeyType, Snapshot, Traceback};

/// An allocation site: the file and line its blocks are charged to.
type Site = (String, u32);

/// Stops tracing when dropped, so a panicking body does not leave the
/// tracker running.
struct StopTracing;

impl Drop for StopTracing {
    fn drop(&mut self) {
        crate::stop();
    }
}

/// Runs the body under the tracker and judges every allocation site.
/// `settle` runs before every snapshot (an async test lets the tasks the
/// body spawned finish there).
///
/// A panic of the body (or of the tracker) stops tracing and is passed on
/// unchanged, so the test fails with its own message.
pub(crate) fn measure(
    config: &LeakTestConfig,
    body: &mut dyn FnMut(),
    settle: &mut dyn FnMut(),
) -> TestReport {
    crate::start(config.frames);
    let _stop = StopTracing;
    match panic::catch_unwind(AssertUnwindSafe(|| measure_loop(config, body, settle))) {
        Ok(report) => report,
        Err(payload) => {
            crate::stop();
            panic::resume_unwind(payload)
        }
    }
}

fn measure_loop(
    config: &LeakTestConfig,
    body: &mut dyn FnMut(),
    settle: &mut dyn FnMut(),
) -> TestReport {
    let epoch = alloc::epoch();
    for _ in 0..config.warmup {
        body();
    }
    settle();
    if let Some(reason) = tracing_changed(epoch) {
        return error_report(config, 0, reason);
    }
    // Load the debug info, then take the baseline counts: the first
    // symbolisation loads it (seconds, in a big binary), and what a
    // background thread allocates meanwhile must not count as the first
    // stretch's growth. Stacks are symbolised later, and only those whose
    // counts changed from the baseline: a site's diff is the sum of its
    // stacks' diffs, and an unchanged stack adds nothing to it.
    alloc::as_tracker(symbolize::warm_up);
    let base_counts = take::raw_counts();
    let plan = Plan {
        iters: config.iters,
        max_iters: config.max_iters,
        checkpoints: config.checkpoints,
        thresholds: Thresholds {
            min_growth_bytes: config.min_growth_bytes,
            min_bytes_per_iter: config.min_bytes_per_iter,
        },
    };
    let mut series = alloc::as_tracker(|| GrowthSeries::<Site>::new(plan));
    let mut functions: BTreeMap<Site, String> = BTreeMap::new();
    let mut last: Option<take::RawCounts> = None;
    let mut done: u64 = 0;
    while let Some(stretch) = alloc::as_tracker(|| series.next_stretch()) {
        // Only counts inside a stretch (no pause, however slow symbolising
        // is); they are symbolised once the stretch is over.
        let mut counts = alloc::as_tracker(|| Vec::with_capacity(stretch.len()));
        for &target in &stretch {
            while done < target {
                body();
                done += 1;
            }
            settle();
            if let Some(reason) = tracing_changed(epoch) {
                return alloc::as_tracker(|| error_report(config, done, reason));
            }
            let raw = take::raw_counts();
            alloc::as_tracker(|| counts.push((target, raw)));
        }
        alloc::as_tracker(|| {
            for (target, raw) in counts {
                let (changed, before) = raw.changed_since(&base_counts);
                let diffs = take::symbolise(&changed)
                    .compare_to(&take::symbolise(&before), KeyType::Lineno);
                let points = diffs.into_iter().filter_map(|d| {
                    // std's symbolisation cache fills once per code address.
                    if leakcheck_format::known::is_std_cache(&d.traceback) {
                        return None;
                    }
                    let frame = d.traceback.charged_frame()?;
                    let site = (frame.file.clone(), frame.line);
                    functions
                        .entry(site.clone())
                        .or_insert_with(|| frame.function.clone());
                    Some((site, d.size_diff, d.count_diff))
                });
                series.record(target, points);
                last = Some(raw);
            }
        });
    }
    alloc::as_tracker(|| {
        let outcome = series.outcome();
        // The call paths of the sites that grew: again only the stacks
        // that changed by the last checkpoint.
        let paths = last.map(|raw| {
            let (changed, before) = raw.changed_since(&base_counts);
            (take::symbolise(&changed), take::symbolise(&before))
        });
        let paths = paths.as_ref().map(|(last, base)| (last, base));
        let mut report = report(config, &outcome, &functions, paths);
        report.warnings.extend(take::overflow_warning());
        // The body's state is still alive here: what holds the leaked
        // blocks now is what held them through the loop.
        crate::retain::annotate(&mut report.sites);
        for site in &mut report.sites {
            let key = (site.file.clone(), site.line);
            site.series = series
                .points(&key)
                .iter()
                .map(|p| [p.iters as i64, p.size_diff])
                .collect();
        }
        report
    })
}

/// Why the loop cannot be judged when the body changed the tracer's state:
/// a new epoch forgets every count, and with tracing off nothing is seen.
fn tracing_changed(epoch: u32) -> Option<String> {
    if !crate::is_tracing() {
        return Some(
            "the test body stopped tracing (`leakcheck_rt::stop()`), so nothing it allocated \
             afterwards could be measured; a leak test's body must not call `stop`"
                .into(),
        );
    }
    (alloc::epoch() != epoch).then(|| {
        "the test body cleared the traces (`leakcheck_rt::clear_traces()`, or `stop()` then \
         `start()`), which forgets every count the loop measured; a leak test's body must not \
         call them"
            .into()
    })
}

/// The report of a loop that could not be judged.
fn error_report(config: &LeakTestConfig, iters: u64, reason: String) -> TestReport {
    TestReport {
        binary: String::new(),
        name: config.test_name(),
        verdict: TestVerdict::Error,
        iters,
        sites: Vec::new(),
        error: Some(reason),
        warnings: Vec::new(),
    }
}

/// The report of a finished loop: every site that grew, leaks first, each
/// leak with the call path that retained the most.
fn report(
    config: &LeakTestConfig,
    outcome: &Outcome<Site>,
    functions: &BTreeMap<Site, String>,
    last_and_base: Option<(&Snapshot, &Snapshot)>,
) -> TestReport {
    let paths = last_and_base
        .map(|(last, base)| last.compare_to(base, KeyType::Traceback))
        .unwrap_or_default();
    let mut sites: Vec<SiteReport> = outcome
        .sites
        .iter()
        .map(|s| {
            let (file, line) = s.key.clone();
            let leak = s.growth.verdict == SiteVerdict::Leak;
            let worst = statistic::heaviest_path(&paths, &file, line);
            let traceback = match worst {
                Some(d) if leak => call_path(config, &d.traceback),
                _ => Vec::new(),
            };
            let caller = worst.and_then(|d| workspace_caller(&d.traceback));
            SiteReport {
                retained_by: Vec::new(),
                function: functions.get(&s.key).cloned().unwrap_or_default(),
                file,
                line,
                verdict: s.growth.verdict,
                bytes_per_iter: s.growth.bytes_per_iter,
                blocks_per_iter: s.growth.blocks_per_iter,
                size_diff: s.size_diff,
                count_diff: s.count_diff,
                traceback,
                series: Vec::new(),
                caller,
            }
        })
        .collect();
    // Leaks first, then by retained bytes (the outcome's order).
    sites.sort_by_key(|s| s.verdict != SiteVerdict::Leak);
    let verdict = if sites.iter().any(|s| s.verdict == SiteVerdict::Leak) {
        TestVerdict::Leak
    } else {
        TestVerdict::Clean
    };
    TestReport {
        binary: String::new(),
        name: config.test_name(),
        verdict,
        iters: outcome.iters,
        sites,
        error: None,
        warnings: Vec::new(),
    }
}

/// The part of a call path a reader needs: from the test's own code (the
/// body closure) down to the allocating line, without frames of the
/// standard library or without debug info. The frames above the body are
/// the test harness and this runner.
fn call_path(config: &LeakTestConfig, traceback: &Traceback) -> Vec<String> {
    let test_fn = format!("{}::{}", config.module_path, config.fn_name);
    let inside = format!("{test_fn}::");
    let frames = traceback.frames();
    let start = frames
        .iter()
        .rposition(|f| f.function == test_fn || f.function.starts_with(&inside))
        .unwrap_or(0);
    traceback.readable_from(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakcheck_format::{Frame, FrameKind};

    fn frame(file: &str, line: u32, function: &str, kind: FrameKind) -> Frame {
        Frame {
            file: file.into(),
            line,
            function: function.into(),
            kind,
        }
    }

    #[test]
    fn call_path_starts_at_the_body() {
        let config = LeakTestConfig {
            module_path: "leak",
            fn_name: "handle",
            file: "tests/leak.rs",
            manifest_dir: "/nowhere",
            warmup: 1,
            iters: 10,
            frames: 25,
            checkpoints: 8,
            max_iters: 40,
            min_bytes_per_iter: 0.0,
            min_growth_bytes: 256,
            snapshot: false,
            should_panic: None,
        };
        let tb = Traceback::new(vec![
            frame("std:test/src/lib.rs", 686, "test::run_test", FrameKind::Std),
            frame("tests/leak.rs", 11, "leak::handle", FrameKind::Workspace),
            frame(
                "std:std/src/panic.rs",
                359,
                "std::panic::catch_unwind",
                FrameKind::Std,
            ),
            frame("<unknown>", 0, "__rust_try", FrameKind::Other),
            frame(
                "tests/leak.rs",
                13,
                "leak::handle::{{closure}}",
                FrameKind::Workspace,
            ),
            frame("tests/leak.rs", 30, "leak::handler", FrameKind::Workspace),
            frame(
                "src/lib.rs",
                9,
                "fixture::handle_request",
                FrameKind::Workspace,
            ),
            frame(
                "std:alloc/src/vec/mod.rs",
                3651,
                "alloc::vec::from_elem",
                FrameKind::Std,
            ),
        ]);
        assert_eq!(
            call_path(&config, &tb),
            [
                "tests/leak.rs:13 in leak::handle::{{closure}}",
                "tests/leak.rs:30 in leak::handler",
                "src/lib.rs:9 in fixture::handle_request"
            ]
        );
    }
}
