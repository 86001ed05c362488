//! Which tests a session run on libtest's threads leaves in doubt.
//!
//! Memory live at exit is charged to the test whose frame is on its call
//! stack, and that is exact on any number of threads: a block allocated
//! under a test's frame is that test's. What depends on the threads'
//! timing is which test gets there *first*: a lazily built static (a
//! logger, tokio's signal table, parking_lot's table of parked threads) is
//! filled by the first test that touches it, and kept. One test at a time,
//! in libtest's order (the order of the names), that is the first of its
//! users by name; on libtest's threads, whichever of the tests running at
//! that moment was quickest.
//!
//! libtest starts its tests in name order, `threads` at a time, a new one
//! each time one finishes, and prints a test's `test NAME ... RESULT` line
//! when it finishes. So the test at position `t` in name order starts just
//! after the `t - threads + 1`-th line, and every test that finished
//! before that never ran beside it. A test charged with memory at exit
//! could only have been beaten to a static, one test at a time, by a test
//! before it by name that was still running when it started: those, and
//! the charged tests themselves, are the tests in doubt. Run again one at
//! a time, in name order, they settle who filled each static first as the
//! whole binary run one at a time would (a test that finished before a
//! charged test started, and left nothing itself, touched none of its
//! statics). Only that: what the second run charges at a site is taken
//! only for the tests in doubt beside a test the first run charged at that
//! site. The second run is shorter than the binary, so memory that later
//! tests would have freed (a collector that frees a test's garbage some
//! pins later) is still live at its end; that is not what it is asked.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The tests in doubt: each charged test with the tests that may have
/// beaten it to what it was charged with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doubt {
    /// Each charged test (by name), with itself and the tests before it by
    /// name that may still have been running when it started.
    pub beside: BTreeMap<String, Vec<String>>,
}

impl Doubt {
    /// Every test in doubt, once, in libtest's order: the tests to run
    /// again.
    pub fn tests(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self.beside.values().flatten().collect();
        all.into_iter().cloned().collect()
    }
}

/// The tests in doubt of a run: each test in `charged` (positions in
/// `finished`) and the tests before it by name that may still have been
/// running when it started. `finished` are the run's tests in the order
/// their lines came (`ran_tests`), on `threads` threads.
pub fn in_doubt(finished: &[String], charged: &BTreeSet<usize>, threads: usize) -> Doubt {
    // libtest's order: the names, sorted as `str`s are.
    let mut by_name: Vec<&str> = finished.iter().map(String::as_str).collect();
    by_name.sort_unstable();
    let finished_at: HashMap<&str, usize> = finished
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let mut doubt = Doubt::default();
    for &c in charged {
        let Some(name) = finished.get(c) else {
            continue;
        };
        // Its position in name order; a name given twice is the first.
        let started = by_name.partition_point(|n| n < &name.as_str());
        // Started after the line at `started - threads`: the tests whose
        // lines came before it were done.
        let mut group: Vec<String> = by_name[..started]
            .iter()
            .filter(|earlier| finished_at[**earlier] + threads > started)
            .map(|earlier| (*earlier).to_owned())
            .collect();
        group.push(name.clone());
        doubt.beside.insert(name.clone(), group);
    }
    doubt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    fn charged(finished: &[String], xs: &[&str]) -> BTreeSet<usize> {
        xs.iter()
            .map(|x| finished.iter().position(|f| f == x).unwrap())
            .collect()
    }

    #[test]
    fn the_first_test_by_name_was_beaten_by_nobody() {
        let finished = names(&["b", "a", "c", "d"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["a"]), 2).tests(),
            ["a"]
        );
    }

    #[test]
    fn a_test_started_beside_an_earlier_one_is_in_doubt_with_it() {
        // On two threads a and b start together; b finished first and was
        // charged with the static a might have filled one at a time.
        let finished = names(&["b", "a", "c", "d"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["b"]), 2).tests(),
            ["a", "b"]
        );
    }

    #[test]
    fn tests_that_finished_before_a_charged_one_started_are_not() {
        // Two threads: a and b start; a ends (line 0), c starts; b ends
        // (line 1), d starts; d was charged. Beside d ran only c.
        let finished = names(&["a", "b", "c", "d", "e"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["d"]), 2).tests(),
            ["c", "d"]
        );
        // A slow b is still running when d starts (a ended, c started
        // and ended first).
        let finished = names(&["a", "c", "b", "d", "e"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["d"]), 2).tests(),
            ["b", "d"]
        );
        // Four threads: d started with a, b and c.
        let finished = names(&["a", "b", "c", "d", "e"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["d"]), 4).tests(),
            ["a", "b", "c", "d"]
        );
    }

    #[test]
    fn one_thread_leaves_nothing_in_doubt_but_the_charged_tests() {
        let finished = names(&["a", "b", "c", "d"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["b", "d"]), 1).tests(),
            ["b", "d"]
        );
    }

    #[test]
    fn several_charged_tests_share_their_neighbours_once_in_name_order() {
        let finished = names(&["b", "a", "d", "c", "e"]);
        assert_eq!(
            in_doubt(&finished, &charged(&finished, &["b", "d"]), 2).tests(),
            ["a", "b", "c", "d"]
        );
        let doubt = in_doubt(&finished, &charged(&finished, &["b", "d"]), 2);
        assert_eq!(doubt.beside["b"], ["a", "b"]);
        assert_eq!(doubt.beside["d"], ["c", "d"]);
        assert!(in_doubt(&finished, &BTreeSet::new(), 2).tests().is_empty());
    }
}
