//! What `cargo leakcheck diff` read and found: the snapshots by the names
//! the user gave them, and the comparison or the series' judgement.

use leakcheck_format::{SeriesJudgement, Snapshot, StatisticDiff};

/// What the snapshots showed.
#[derive(Debug)]
pub(super) enum Finding {
    /// Two snapshots: what changed, biggest change first.
    Diff(Vec<StatisticDiff>),
    /// Three or more: every site's growth over the series.
    Series(SeriesJudgement),
}

/// The snapshots, by the names the user gave them.
#[derive(Debug)]
pub(super) struct Input {
    pub names: Vec<String>,
    /// Each snapshot's process, time and frame depth, without its traces:
    /// those are in `run::Traces`.
    pub snapshots: Vec<Snapshot>,
    /// Each snapshot's live bytes and blocks (its heap, as leakcheck
    /// counted it), before its traces were folded.
    pub totals: Vec<(u64, u64)>,
}

/// The name of the series in reports: `first … last`.
pub(super) fn series_name(input: &Input) -> String {
    match (input.names.first(), input.names.last()) {
        (Some(first), Some(last)) => format!("{first} .. {last}"),
        _ => String::new(),
    }
}
