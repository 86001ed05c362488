//! What `#[leak_test(...)]` passes to the runner, and the limits it shares
//! with the macro.

/// The fewest checkpoints the verdict can read: it looks at a site's
/// series in thirds, halves and quarters of the run (see `verdict.rs`). The
/// macro rejects fewer (`leakcheck-macros/src/args.rs`, tied by a test
/// below); a config built by hand with fewer is raised to this.
pub(crate) const MIN_CHECKPOINTS: u32 = 3;

/// The settings of one `#[leak_test]`, built by the macro from its arguments.
///
/// Every field has the documented default of the macro argument of the same
/// name; see the crate docs.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakTestConfig {
    /// `module_path!()` of the test function.
    pub module_path: &'static str,
    /// The test function's name.
    pub fn_name: &'static str,
    /// `file!()` of the test function.
    pub file: &'static str,
    /// `env!("CARGO_MANIFEST_DIR")` of the crate that holds the test.
    pub manifest_dir: &'static str,
    /// Calls of the body before the baseline snapshot (default 1).
    pub warmup: u64,
    /// Measured calls of the body after the baseline (default 10 000).
    pub iters: u64,
    /// Frames kept per allocation (default 25).
    pub frames: usize,
    /// Snapshots taken through the measured loop (default 8, at least
    /// three).
    pub checkpoints: u32,
    /// How far the loop may be extended when the evidence is ambiguous, as
    /// a total number of measured calls (default `4 * iters`).
    pub max_iters: u64,
    /// A site is a leak only if it retains at least this many bytes per
    /// iteration (default 0.0: any steady growth).
    pub min_bytes_per_iter: f64,
    /// ...and at least this many bytes in all (default 256).
    pub min_growth_bytes: u64,
    /// Check the normalised report against an `insta` snapshot (default true).
    pub snapshot: bool,
    /// What the test's `#[should_panic]` expects: `Some("")` for any panic,
    /// `Some(text)` for a message that contains `text`, `None` without the
    /// attribute. A test measured in place (`cargo leakcheck`, nextest) that
    /// panics as expected passes, as it does under `cargo test`.
    pub should_panic: Option<&'static str>,
}

impl LeakTestConfig {
    /// Whether a panic with `message` is the one `#[should_panic]` expects
    /// (libtest's rule: the message contains the expected text).
    pub(crate) fn expects_panic(&self, message: &str) -> bool {
        self.should_panic
            .is_some_and(|expected| message.contains(expected))
    }
}

impl LeakTestConfig {
    /// The test's name as libtest lists it: the module path without the
    /// crate name, then the function name.
    pub fn test_name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_, rest)) => format!("{rest}::{}", self.fn_name),
            None => self.fn_name.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MIN_CHECKPOINTS;

    /// The value of `pub(crate) const NAME: TYPE = VALUE;` in `source`
    /// (the macro crate cannot export constants).
    fn constant(source: &str, name: &str) -> u64 {
        let start = format!("pub(crate) const {name}: ");
        let line = source
            .lines()
            .find_map(|l| l.strip_prefix(&start))
            .unwrap_or_else(|| panic!("no `{name}` in the source"));
        let (_, value) = line.split_once(" = ").unwrap();
        value
            .trim_end_matches(';')
            .replace('_', "")
            .parse()
            .unwrap()
    }

    fn macro_constant(name: &str) -> u64 {
        constant(include_str!("../../../leakcheck-macros/src/args.rs"), name)
    }

    #[test]
    fn the_macro_and_the_runtime_agree_on_the_fewest_checkpoints() {
        assert_eq!(
            macro_constant("MIN_CHECKPOINTS"),
            u64::from(MIN_CHECKPOINTS)
        );
    }

    #[test]
    fn the_macro_and_the_allocator_agree_on_the_most_frames() {
        let allocator = leakcheck_engine::MAX_NFRAME as u64;
        assert_eq!(macro_constant("MAX_FRAMES"), allocator);
    }
}
