//! Session analysis: which tests left memory live at the end of a session,
//! at which sites, and whether a site grew with the number of tests.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use leakcheck_format::Trace;
use leakcheck_format::known;
use leakcheck_format::report::SessionSite;
use leakcheck_format::session_record::SessionRecord;

use super::doubt::Doubt;
use crate::outcome::{SessionAnalysis, sort_sites};

/// Analyses one binary's session record.
///
/// `tests` are the binary's tests in run order (`--list` order, which is
/// libtest's order); they are only needed when the record has no exact
/// per-test deltas. A site is growth when at least `min_tests` distinct
/// tests left memory there, spread through the run (see [`spread`]).
pub fn analyse(
    record: &SessionRecord,
    tests: &[String],
    binary: &str,
    workspace_root: &Path,
    min_tests: usize,
) -> SessionAnalysis {
    analyse_again(record, None, tests, binary, workspace_root, min_tests)
}

/// [`analyse`], with `again`: the record of a second run of the tests in
/// doubt, one at a time, and who they are ([`super::doubt`]). At each site
/// where `record` charged a test, the tests in doubt beside it are charged
/// what `again` charged them there, and the first run's charges at the
/// site are dropped; what no test left (the harness's, memory of threads
/// that outlived their test) and std's caches come from `record`. `tests`
/// are in libtest's order.
pub fn analyse_again(
    record: &SessionRecord,
    again: Option<(&SessionRecord, &Doubt)>,
    tests: &[String],
    binary: &str,
    workspace_root: &Path,
    min_tests: usize,
) -> SessionAnalysis {
    let mut sites = Sites::default();
    let mut unattributed = (0, 0);
    let mut std_caches = (0, 0);
    let mut std_cache = |trace: &Trace| {
        let cache = known::is_std_cache(&trace.traceback);
        if cache {
            std_caches.0 += trace.size;
            std_caches.1 += trace.count;
        }
        cache
    };
    if record.per_test.is_empty() {
        let index = TestIndex::new(tests);
        // (site, test in doubt) that the second run decides.
        let mut retaken: HashSet<((String, u32), &str)> = HashSet::new();
        // One trace at a time: the record holds its frames once, and a
        // trace's own copy of them lives only while it is looked at.
        for trace in record.live.iter() {
            let trace = &trace;
            if std_cache(trace) {
                continue;
            }
            match index.test_of(trace) {
                // Every test charged here was run again, with the tests
                // beside it: they may be charged at this site.
                Some(test) => match again {
                    Some((_, doubt)) => {
                        let site = site_of(trace);
                        for beside in doubt.beside.get(&tests[test]).into_iter().flatten() {
                            retaken.insert((site.clone(), beside.as_str()));
                        }
                    }
                    None => sites.add(trace, test),
                },
                None => {
                    unattributed.0 += trace.size;
                    unattributed.1 += trace.count;
                }
            }
        }
        for trace in again.iter().flat_map(|(again, _)| again.live.iter()) {
            let trace = &trace;
            if known::is_std_cache(&trace.traceback) {
                continue;
            }
            if let Some(test) = index.test_of(trace)
                && retaken.contains(&(site_of(trace), tests[test].as_str()))
            {
                sites.add(trace, test);
            }
        }
    } else {
        for (order, delta) in record.per_test.iter().enumerate() {
            for trace in delta.retained.iter() {
                let trace = &trace;
                if !std_cache(trace) {
                    sites.add(trace, order);
                }
            }
        }
    }
    let names: Vec<&str> = if record.per_test.is_empty() {
        tests.iter().map(String::as_str).collect()
    } else {
        record.per_test.iter().map(|d| d.test.as_str()).collect()
    };
    SessionAnalysis {
        sites: sites.finish(&names, binary, workspace_root, min_tests),
        unattributed,
        std_caches,
    }
}

/// The tests (positions in `tests`) charged at each site: those a trace
/// live at the end of the session, other than a standard library cache,
/// was allocated under. What [`analyse`] would make session sites of.
pub fn charged_sites(
    record: &SessionRecord,
    tests: &[String],
) -> BTreeMap<(String, u32), BTreeSet<usize>> {
    let index = TestIndex::new(tests);
    let mut sites: BTreeMap<(String, u32), BTreeSet<usize>> = BTreeMap::new();
    for trace in record.live.iter() {
        if known::is_std_cache(&trace.traceback) {
            continue;
        }
        if let Some(test) = index.test_of(&trace) {
            sites.entry(site_of(&trace)).or_default().insert(test);
        }
    }
    sites
}

/// Finds the test a trace was allocated under from its frames.
struct TestIndex<'a> {
    by_path: HashMap<&'a str, usize>,
}

impl<'a> TestIndex<'a> {
    fn new(tests: &'a [String]) -> Self {
        Self {
            by_path: tests
                .iter()
                .enumerate()
                .map(|(i, t)| (t.as_str(), i))
                .collect(),
        }
    }

    /// The outermost frame that is a test function or a closure in it.
    ///
    /// Test `a::b` of a binary whose crate is `c` runs as function `c::a::b`,
    /// called from libtest's closure `c::a::b::{{closure}}`; the crate name
    /// is the first path segment and is not compared.
    fn test_of(&self, trace: &Trace) -> Option<usize> {
        trace.traceback.frames().iter().find_map(|frame| {
            let (_krate, path) = frame.function.split_once("::")?;
            if let Some(&i) = self.by_path.get(path) {
                return Some(i);
            }
            let (outer, _) = path.split_once("::{{closure}}")?;
            self.by_path.get(outer).copied()
        })
    }
}

/// The site a trace is charged to: the file and line of its charged
/// frame.
fn site_of(trace: &Trace) -> (String, u32) {
    match trace.traceback.charged_frame() {
        Some(f) => (f.file.clone(), f.line),
        None => ("<unknown>".to_owned(), 0),
    }
}

/// Memory by site (file and line), and by test within a site.
#[derive(Default)]
struct Sites {
    by_site: BTreeMap<(String, u32), Site>,
}

#[derive(Default)]
struct Site {
    function: String,
    /// The known registry of a test framework the site belongs to.
    known: Option<&'static known::KnownRegistry>,
    /// Bytes and blocks per test (by run order).
    per_test: BTreeMap<usize, (u64, u64)>,
}

impl Sites {
    fn add(&mut self, trace: &Trace, test: usize) {
        let charged = trace.traceback.charged_frame();
        let function = charged.map_or("", |f| f.function.as_str());
        let site = self.by_site.entry(site_of(trace)).or_default();
        if site.known.is_none() {
            site.known = charged.and_then(known::known_registry);
        }
        // Two monomorphised copies of one line have two names; keep one,
        // the same one every run.
        if site.function.is_empty() || (!function.is_empty() && function < &*site.function) {
            site.function = function.to_owned();
        }
        let slot = site.per_test.entry(test).or_default();
        slot.0 += trace.size;
        slot.1 += trace.count;
    }

    fn finish(
        self,
        names: &[&str],
        binary: &str,
        workspace_root: &Path,
        min_tests: usize,
    ) -> Vec<SessionSite> {
        let mut sites: Vec<SessionSite> = self
            .by_site
            .into_iter()
            .map(|((file, line), site)| {
                let contributors = site.per_test.len();
                let (size, count) = site
                    .per_test
                    .values()
                    .fold((0u64, 0u64), |(s, c), &(ts, tc)| (s + ts, c + tc));
                SessionSite {
                    retained_by: Vec::new(),
                    binary: binary.to_owned(),
                    file: relative(&file, workspace_root),
                    line,
                    function: site.function,
                    size_diff: i64::try_from(size).unwrap_or(i64::MAX),
                    count_diff: i64::try_from(count).unwrap_or(i64::MAX),
                    tests: site
                        .per_test
                        .keys()
                        .map(|&i| names.get(i).copied().unwrap_or("?").to_owned())
                        .collect(),
                    growth: contributors >= min_tests
                        && spread(site.per_test.keys().copied(), names.len()),
                    known: site.known.map(|k| k.name.to_owned()),
                    accepted: false,
                }
            })
            .collect();
        sort_sites(&mut sites);
        sites
    }
}

/// `true` when the tests that left memory at a site (their positions in
/// the run's order, ascending) are spread through a run of `run_len` tests:
/// the first of them ran in the first half of the run, or they are more
/// than a quarter of the run's tests.
///
/// A registry is filled from the first test that uses it to the last, and
/// what each test left is still there at exit. Memory freed late, by a
/// collector that runs behind the tests (crossbeam-epoch frees a test's
/// garbage a few pins later, in a later test), is live at exit only for the
/// most recent few tests, however long the run: growth that only started in
/// the second half and holds a few tests looks like that, and is not judged
/// growth, as a leak test does not judge a loop by growth that only
/// started at its end.
fn spread(positions: impl ExactSizeIterator<Item = usize>, run_len: usize) -> bool {
    let contributors = positions.len();
    let mut positions = positions;
    let early = positions
        .next()
        .is_some_and(|first| first.saturating_mul(2) < run_len);
    early || contributors.saturating_mul(4) > run_len
}

/// `file` relative to the workspace root when it is inside it (the runtime
/// normally does this already; an absolute path here would make reports
/// differ between machines).
pub fn relative(file: &str, workspace_root: &Path) -> String {
    match Path::new(file).strip_prefix(workspace_root) {
        Ok(rest) if Path::new(file).is_absolute() => rest.to_string_lossy().into_owned(),
        _ => file.to_owned(),
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
