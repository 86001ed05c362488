//! [`LeakLoop`]: the parameter of a stateful leak test, which builds its
//! state once and hands the runner the one call to repeat.
//!
//! ```text
//!  fn t(lt: &mut LeakLoop) { setup; lt.iter(|i| call(i)); teardown }
//!                            ─────  ───────────────────  ────────
//!       untraced, built once ┘      warm-up, baseline,    └ after tracing stopped:
//!                                   loop, checkpoints       not measured
//! ```

use super::LeakTestConfig;
use super::measure::measure;
use leakcheck_format::report::TestReport;

/// What the runner wants from the loop in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A `cargo leakcheck` session: run the warm-up calls only.
    Warmup,
    /// Warm up, measure and judge.
    Measure,
}

/// The loop of a leak test whose state is built once.
///
/// A leak test that takes `lt: &mut LeakLoop` builds its state first, then
/// calls [`LeakLoop::iter`] (or, in an `async fn` test,
/// `LeakLoop::iter_async`, with the `tokio` feature) exactly once with the call to repeat. The
/// closure gets the call number `i`: 0, 1, 2, … across the warm-up and the
/// measured loop.
///
/// ```no_run
/// # struct Service(std::collections::HashMap<u64, Vec<u8>>);
/// # impl Service {
/// #     fn new() -> Self { Service(Default::default()) }
/// #     fn handle_request(&mut self, id: u64) { self.0.insert(id % 100, vec![0; 8]); }
/// # }
/// #[leakcheck_rt::leak_test(iters = 5_000)]
/// fn handle_request_does_not_leak(lt: &mut leakcheck_rt::LeakLoop) {
///     let mut svc = Service::new(); // built once: part of the baseline
///     lt.iter(|i| svc.handle_request(i));
/// }
/// # fn main() {}
/// ```
///
/// What the test does before `iter` is not measured (it is in the
/// baseline); neither is what it does after `iter` returns (tracing has
/// stopped). Calling `iter` twice, or returning without calling it, fails
/// the test.
#[derive(Debug)]
pub struct LeakLoop {
    config: LeakTestConfig,
    purpose: Purpose,
    /// Calls of `iter`/`iter_async` so far.
    loops: u32,
    /// The report of the measured loop, once `iter` returned.
    report: Option<TestReport>,
    #[cfg(feature = "tokio")]
    driver: Option<std::rc::Rc<super::driver::Driver>>,
}

impl LeakLoop {
    pub(crate) fn new(config: &LeakTestConfig, purpose: Purpose) -> Self {
        LeakLoop {
            config: config.clone(),
            purpose,
            loops: 0,
            report: None,
            #[cfg(feature = "tokio")]
            driver: None,
        }
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn driven(
        config: &LeakTestConfig,
        purpose: Purpose,
        driver: std::rc::Rc<super::driver::Driver>,
    ) -> Self {
        LeakLoop {
            driver: Some(driver),
            ..Self::new(config, purpose)
        }
    }

    /// Runs `f` as the body of the leak test: `warmup` calls, the baseline
    /// snapshot, then the measured calls with their checkpoints. `f` gets
    /// the call number, counted from 0 (warm-up included); what it returns
    /// is dropped at once.
    ///
    /// # Panics
    ///
    /// When called a second time in the same test, and in an `async fn`
    /// leak test (use `LeakLoop::iter_async` there).
    pub fn iter<R>(&mut self, mut f: impl FnMut(u64) -> R) {
        self.enter("iter");
        #[cfg(feature = "tokio")]
        if self.driver.is_some() {
            panic!(
                "{}: an `async fn` leak test must call `lt.iter_async(async |i| ...).await`, \
                 not `lt.iter`: the calls have to run on the test's runtime",
                self.config.fn_name
            );
        }
        let mut i: u64 = 0;
        let mut body = || {
            std::hint::black_box(f(i));
            i += 1;
        };
        self.report = run(&self.config, self.purpose, &mut body, &mut || {});
    }

    /// The async form of [`LeakLoop::iter`], for `async fn` leak tests
    /// (feature `tokio`): each call of the loop awaits `f(i)` on the test's
    /// runtime, and before each snapshot the tasks it spawned get the
    /// chance to finish.
    ///
    /// ```no_run
    /// # struct Pool;
    /// # impl Pool {
    /// #     async fn connect() -> Self { Pool }
    /// #     async fn query(&self, _: u64) {}
    /// # }
    /// #[leakcheck_rt::leak_test(iters = 2_000, flavor = "multi_thread", worker_threads = 2)]
    /// async fn pool_does_not_leak(lt: &mut leakcheck_rt::LeakLoop) {
    ///     let pool = Pool::connect().await; // built once
    ///     lt.iter_async(async |i| pool.query(i).await).await;
    /// }
    /// # fn main() {}
    /// ```
    ///
    /// # Panics
    ///
    /// When called a second time in the same test, and outside an
    /// `async fn` leak test.
    #[cfg(feature = "tokio")]
    pub async fn iter_async<F, R>(&mut self, mut f: F)
    where
        F: AsyncFnMut(u64) -> R,
    {
        use super::driver::Command;
        self.enter("iter_async");
        let Some(driver) = self.driver.clone() else {
            panic!(
                "{}: `lt.iter_async` runs only in an `async fn` leak test; in a plain `fn`, \
                 call `lt.iter(|i| ...)`",
                self.config.fn_name
            );
        };
        while let Command::Call(i) = driver.next_command().await {
            std::hint::black_box(f(i).await);
        }
    }

    /// Counts a call of `iter` or `iter_async`; the second one panics.
    pub(crate) fn enter(&mut self, method: &str) {
        self.loops += 1;
        if self.loops > 1 {
            panic!(
                "{}: `LeakLoop::{method}` was called a second time; a leak test measures one \
                 loop, so call `iter` (or `iter_async`) exactly once",
                self.config.fn_name
            );
        }
    }

    /// The report of the measured loop, after the test function returned.
    ///
    /// # Panics
    ///
    /// When the test never called `iter` or `iter_async`.
    pub(crate) fn finish(self) -> Option<TestReport> {
        if self.loops == 0 {
            #[cfg(feature = "tokio")]
            if self.driver.is_some() {
                panic!(
                    "{}: the leak test never called `lt.iter_async(async |i| ...).await`; an \
                     `async fn` leak test that takes a `&mut LeakLoop` must call it exactly \
                     once, with the call to repeat",
                    self.config.fn_name
                );
            }
            panic!(
                "{}: the leak test never called `lt.iter(|i| ...)`; a leak test that takes a \
                 `&mut LeakLoop` must call it exactly once, with the call to repeat",
                self.config.fn_name
            );
        }
        self.report
    }

    /// [`LeakLoop::finish`] for a loop the async runner measured.
    #[cfg(feature = "tokio")]
    pub(crate) fn finish_with(mut self, report: Option<TestReport>) -> Option<TestReport> {
        self.report = report;
        self.finish()
    }
}

/// Runs `body` for `purpose`: the warm-up calls only, or the whole
/// measured loop with `settle` before every snapshot.
pub(crate) fn run(
    config: &LeakTestConfig,
    purpose: Purpose,
    body: &mut dyn FnMut(),
    settle: &mut dyn FnMut(),
) -> Option<TestReport> {
    match purpose {
        Purpose::Warmup => {
            for _ in 0..config.warmup {
                body();
            }
            None
        }
        Purpose::Measure => Some(measure(config, body, settle)),
    }
}
