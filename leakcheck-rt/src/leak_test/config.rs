//! What `#[leak_test(...)]` passes to the runner.

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
    /// Snapshots taken through the measured loop (default 8).
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
