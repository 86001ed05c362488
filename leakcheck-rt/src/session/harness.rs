//! A `harness = false` test runner on `libtest-mimic` that measures exactly
//! what each test leaves behind when run as a session.

use libtest_mimic::{Arguments, Failed, Trial};

use crate::take;

type TestFn = Box<dyn FnOnce() -> Result<(), Failed> + Send>;

/// Tests of a `harness = false` target, run like libtest runs them.
///
/// Under `cargo leakcheck` the tests run one at a time, with a snapshot
/// before and after each, so the session report knows exactly which test
/// left what.
///
/// ```no_run
/// // tests/registry.rs, with `[[test]] name = "registry" harness = false`
/// leakcheck_rt::install!();
///
/// fn main() {
///     leakcheck_rt::session::Harness::new()
///         .test("appends_once", || assert_eq!(1 + 1, 2))
///         .run();
/// }
/// ```
#[derive(Default)]
pub struct Harness {
    tests: Vec<(String, TestFn)>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field(
                "tests",
                &self.tests.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Harness {
    /// An empty harness.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a test that fails by panicking.
    pub fn test(mut self, name: impl Into<String>, f: impl FnOnce() + Send + 'static) -> Self {
        self.tests.push((
            name.into(),
            Box::new(move || {
                f();
                Ok(())
            }),
        ));
        self
    }

    /// Adds a test that fails by returning an error.
    pub fn test_result(
        mut self,
        name: impl Into<String>,
        f: impl FnOnce() -> Result<(), Failed> + Send + 'static,
    ) -> Self {
        self.tests.push((name.into(), Box::new(f)));
        self
    }

    /// Parses the command line, runs the tests and exits with libtest's
    /// exit code.
    pub fn run(self) -> ! {
        let mut args = Arguments::from_args();
        let session = super::record::is_active();
        if session {
            args.test_threads = Some(1);
        }
        let trials = self
            .tests
            .into_iter()
            .map(|(name, f)| {
                let label = name.clone();
                Trial::test(name, move || {
                    if !session {
                        return f();
                    }
                    let before = take::raw_counts();
                    let result = f();
                    // Only the stacks the test changed are symbolised.
                    let (after, before) = take::raw_counts().changed_since(&before);
                    let retained = leakcheck_engine::as_tracker(|| {
                        super::record::retained(&take::symbolise(&before), &take::symbolise(&after))
                    });
                    super::record::note_test_delta(&label, retained);
                    result
                })
            })
            .collect();
        libtest_mimic::run(&args, trials).exit()
    }
}
