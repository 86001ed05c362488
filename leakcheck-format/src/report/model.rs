//! The machine report of `cargo leakcheck --json`, format version 1.
//!
//! The fields named in the design are fixed; fields may be added, never
//! renamed or removed, without a new version.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::file_format::REPORT_VERSION;

/// A whole run: every leak test, and the session growth of every binary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_VERSION`] when written by this crate.
    pub version: u32,
    /// One entry per `#[leak_test]` run (and per binary that could not run).
    pub tests: Vec<TestReport>,
    /// Growth that shows only across whole test sessions.
    pub session: SessionReport,
    /// Test binaries whose stacks were taken with the slow DWARF unwinder
    /// because their frame-pointer walk was found wrong (built without
    /// frame pointers); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unwinder: Vec<String>,
}

/// The verdict of one leak test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestVerdict {
    /// At least one site grew with the iteration count.
    Leak,
    /// Nothing grew with the iteration count.
    Clean,
    /// The test could not be measured (it panicked, crashed or timed out).
    Error,
}

/// One leak test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// The test binary's target name.
    pub binary: String,
    /// The test's name as libtest lists it.
    pub name: String,
    /// The overall verdict.
    pub verdict: TestVerdict,
    /// Measured iterations after warm-up.
    pub iters: u64,
    /// Allocation sites that grew, worst first.
    pub sites: Vec<SiteReport>,
    /// Why the test could not be measured, for [`TestVerdict::Error`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What made the measurement less exact than usual (such as a full
    /// stack table), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The growth class of one allocation site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteVerdict {
    /// Growth that keeps pace with the iteration count.
    Leak,
    /// Growth that stopped: a cache filled up, a table was built once.
    Plateau,
    /// Retained memory rose and fell: a buffer emptied now and then.
    Fluctuating,
}

/// One allocation site of a leak test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteReport {
    /// The file, relative to the workspace root (or `crate-version/...`).
    pub file: String,
    /// The line of the allocating call.
    pub line: u32,
    /// The function that holds that line.
    pub function: String,
    /// The growth class of this site.
    pub verdict: SiteVerdict,
    /// Retained bytes added per measured iteration.
    pub bytes_per_iter: f64,
    /// Retained blocks added per measured iteration.
    pub blocks_per_iter: f64,
    /// Retained bytes added over the measured iterations.
    pub size_diff: i64,
    /// Retained blocks added over the measured iterations.
    pub count_diff: i64,
    /// The call path of this site, oldest frame first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traceback: Vec<String>,
    /// The series the verdict judged: `[iters, size_diff]` at every
    /// checkpoint (for `cargo leakcheck diff`, `[ms, size_diff]` at every
    /// snapshot after the first), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<[i64; 2]>,
    /// When the site is in a dependency (`tokio-1.x/src/...`): the
    /// innermost frame of the workspace on its call path, the line that
    /// called into the dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
    /// What keeps the site's blocks alive, for a leak: `cargo leakcheck`
    /// finds it by running the leaking test once more with the live blocks
    /// registered, and scanning from the roots at its last checkpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained_by: Vec<Retainer>,
}

/// What keeps a leaked block alive: a path from a root through the blocks
/// that hold it, a cycle, or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retainer {
    /// The kind of root.
    pub kind: RetainerKind,
    /// The root: a static's or a thread-local's Rust path, `thread 'name'`
    /// for a stack, `spawned at FILE:LINE` for a task; empty for a cycle and
    /// for an unreachable block.
    pub root: String,
    /// The blocks from the root to the leaked one (which is not listed),
    /// each named by where it was allocated; for a cycle, its blocks.
    pub path: Vec<Caller>,
}

/// The kinds of [`Retainer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetainerKind {
    /// A static (a writable segment of a loaded object).
    Static,
    /// A thread-local.
    ThreadLocal,
    /// A thread's stack (or its registers).
    Stack,
    /// A task an async runtime owns.
    Task,
    /// Blocks that only point at each other.
    Cycle,
    /// Nothing points at it.
    Unreachable,
}

impl Retainer {
    /// The report's line: `static fixture::REGISTRY  →  a block allocated
    /// at src/lib.rs:11 in fixture::register  →  the block`.
    pub fn line(&self) -> String {
        let block = |c: &Caller| {
            format!(
                "a block allocated at {}:{} in {}",
                c.file, c.line, c.function
            )
        };
        match self.kind {
            RetainerKind::Cycle => {
                let at = self
                    .path
                    .first()
                    .map(|c| format!(" allocated at {}:{}", c.file, c.line))
                    .unwrap_or_default();
                format!(
                    "a cycle of {} blocks{at} (make one link Weak)",
                    self.path.len().max(1)
                )
            }
            RetainerKind::Unreachable => {
                "unreachable: no root points at it (mem::forget, Box::leak)".to_owned()
            }
            kind => {
                let root = match kind {
                    RetainerKind::Static => format!("static {}", self.root),
                    RetainerKind::ThreadLocal => format!("thread_local {}", self.root),
                    RetainerKind::Stack => format!("the stack of {}", self.root),
                    _ => format!("a task {}", self.root),
                };
                let mut parts = vec![root];
                parts.extend(self.path.iter().map(block));
                parts.push("the block".to_owned());
                parts.join("  →  ")
            }
        }
    }
}

/// A line of the workspace that called into a dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The file, relative to the workspace root.
    pub file: String,
    /// The line of the call.
    pub line: u32,
    /// The function that holds that line.
    pub function: String,
}

/// Session verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionVerdict {
    /// Some site piled up memory with the number of tests.
    Growth,
    /// Nothing piled up.
    Clean,
}

/// Memory retained across whole sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    /// `growth` when any site in `sites` has several contributing tests.
    pub verdict: SessionVerdict,
    /// Sites with memory still live at the end of a session, worst first.
    pub sites: Vec<SessionSite>,
}

/// One site that held memory at the end of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSite {
    /// The test binary the session ran.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub binary: String,
    /// The file, relative to the workspace root.
    pub file: String,
    /// The line of the allocating call.
    pub line: u32,
    /// The function that holds that line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub function: String,
    /// Bytes live at the end that were not live at the start.
    pub size_diff: i64,
    /// Blocks live at the end that were not live at the start.
    pub count_diff: i64,
    /// The tests that left memory here, in run order.
    pub tests: Vec<String>,
    /// `true` when several tests each left memory here (session growth);
    /// `false` for a one-time cost such as a lazily filled static.
    #[serde(default)]
    pub growth: bool,
    /// The known bounded registry of a test framework this site belongs
    /// to (see `leakcheck_rt::session::known`): never a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
    /// `true` when the team accepted this site's growth as known (it is
    /// listed in the accepted-sites file): not a failure.
    #[serde(default, skip_serializing_if = "is_false")]
    pub accepted: bool,
    /// What keeps its blocks alive, for session growth (the session run
    /// once more with the live blocks registered, scanned at exit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained_by: Vec<Retainer>,
}

impl SessionSite {
    /// `true` when this site fails the run: growth that is neither a known
    /// registry nor accepted.
    pub fn fails(&self) -> bool {
        self.growth && self.known.is_none() && !self.accepted
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Writes `+10000.0 KiB  count  10000  src/lib.rs:10`, tracemalloc's diff line.
fn size_row(
    f: &mut fmt::Formatter<'_>,
    size: i64,
    count: i64,
    file: &str,
    line: u32,
) -> fmt::Result {
    write!(
        f,
        "{:+.1} KiB  count {count:>6}  {file}:{line}",
        size as f64 / 1024.0
    )
}

impl fmt::Display for SiteReport {
    /// `+10000.0 KiB  count  10000  src/lib.rs:10  (1024.0 B/iter, 1.00 blocks/iter)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        size_row(f, self.size_diff, self.count_diff, &self.file, self.line)?;
        write!(
            f,
            "  ({:.1} B/iter, {:.2} blocks/iter)",
            self.bytes_per_iter, self.blocks_per_iter
        )?;
        match &self.caller {
            Some(caller) => write!(f, "  called from {}:{}", caller.file, caller.line),
            None => Ok(()),
        }
    }
}

impl fmt::Display for SessionSite {
    /// `+48.0 KiB  count     12  src/lib.rs:9`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        size_row(f, self.size_diff, self.count_diff, &self.file, self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_in_a_dependency_shows_the_workspace_line_that_called_it() {
        let mut site = SiteReport {
            retained_by: Vec::new(),
            file: "tokio-1.54.1/src/runtime/task/core.rs".into(),
            line: 261,
            function: "tokio::runtime::task::core::Cell<T,S>::new".into(),
            verdict: SiteVerdict::Leak,
            bytes_per_iter: 256.0,
            blocks_per_iter: 1.0,
            size_diff: 256_000,
            count_diff: 1000,
            traceback: Vec::new(),
            series: Vec::new(),
            caller: None,
        };
        let without = site.to_string();
        assert_eq!(
            without,
            "+250.0 KiB  count   1000  tokio-1.54.1/src/runtime/task/core.rs:261  \
             (256.0 B/iter, 1.00 blocks/iter)"
        );
        let json = crate::json::to_string(&site).unwrap();
        assert!(!json.contains("caller"), "{json}");
        site.caller = Some(Caller {
            file: "src/lib.rs".into(),
            line: 70,
            function: "service::spawn_stuck".into(),
        });
        assert_eq!(
            site.to_string(),
            format!("{without}  called from src/lib.rs:70")
        );
        let json = crate::json::to_string(&site).unwrap();
        assert!(
            json.contains(
                r#""caller":{"file":"src/lib.rs","line":70,"function":"service::spawn_stuck"}"#
            ),
            "{json}"
        );
        assert_eq!(
            crate::json::from_slice::<SiteReport>(json.as_bytes()).unwrap(),
            site
        );
    }
}
