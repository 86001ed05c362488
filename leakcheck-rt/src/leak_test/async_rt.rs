//! `async fn` leak tests (feature `tokio`): the runtime built once, the
//! test's future driven one call at a time, and the pause before each
//! snapshot that lets spawned tasks finish.
//!
//! The measured loop is synchronous (it stops for snapshots between
//! calls), while the test function is one future that calls
//! `lt.iter_async(f).await` once. The future is the coroutine: parked in
//! `iter_async` it waits for a command, and each call of the loop's body
//! is one `block_on` that hands it `Call(i)` and polls it until it parks
//! again:
//!
//! ```text
//!  build runtime ─► block_on(test future) ──► setup ─► iter_async parks ─┐
//!    ┌────────────────────────────────────────────────────────────────────┘
//!    └► measure: body() = block_on(Call(i) ─► f(i).await ─► parks)   (warm-up, loop)
//!                settle() = block_on(until the runtime's tasks are done, bounded)
//!  block_on(Finish ─► iter_async returns ─► teardown, not measured) ─► drop runtime
//! ```

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::LeakTestConfig;
use super::driver::{Command, Driver, LoopFuture, Step};
use super::leak_loop::{self, LeakLoop, Purpose};
use super::runner;
use leakcheck_format::report::TestReport;

/// The tokio scheduler an `async fn` leak test runs on
/// (`flavor = "current_thread"` or `"multi_thread"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Everything on the test's thread (the default, as in `#[tokio::test]`).
    CurrentThread,
    /// A pool of worker threads.
    MultiThread,
}

/// The runtime of one `async fn` leak test, from the macro's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The scheduler.
    pub flavor: Flavor,
    /// Worker threads of a multi-thread runtime (`None`: tokio's default,
    /// one per CPU).
    pub worker_threads: Option<usize>,
}

/// Spawned tasks may take this long to finish before a snapshot...
const SETTLE_MAX: Duration = Duration::from_millis(250);
/// ...and the wait ends early once the number of live tasks has not
/// changed for this long (a task that never finishes does not hold up
/// every checkpoint for `SETTLE_MAX`).
const SETTLE_STABLE: Duration = Duration::from_millis(20);

/// Entry point of the code `#[leak_test]` generates for an `async fn`:
/// `test` is the whole function as a future (for `async fn name()`, one
/// that calls `iter_async` with the body).
pub fn run_async_leak_loop(
    config: &LeakTestConfig,
    runtime: &RuntimeConfig,
    test: &mut dyn for<'a> FnMut(&'a mut LeakLoop) -> LoopFuture<'a>,
    check_snapshot: &dyn Fn(&str),
) {
    runner::run(
        config,
        &mut |purpose| on_runtime(config, runtime, purpose, test),
        check_snapshot,
    );
}

/// Builds the runtime, runs the test function on it for `purpose`, and
/// returns the measured report.
fn on_runtime(
    config: &LeakTestConfig,
    runtime: &RuntimeConfig,
    purpose: Purpose,
    test: &mut dyn for<'a> FnMut(&'a mut LeakLoop) -> LoopFuture<'a>,
) -> Option<TestReport> {
    let rt = build(runtime);
    // Futures dropped outside `block_on` (the test's, on a panic) may
    // still need the runtime's context.
    let _context = rt.enter();
    let driver = Rc::new(Driver::default());
    let mut lt = LeakLoop::driven(config, purpose, Rc::clone(&driver));
    let report = {
        let mut future = test(&mut lt);
        match rt.block_on(driver.drive(&mut future)) {
            Step::Finished => None,
            Step::Parked => {
                let mut i: u64 = 0;
                let mut body = || {
                    driver.command.set(Some(Command::Call(i)));
                    i += 1;
                    if rt.block_on(driver.drive(&mut future)) == Step::Finished {
                        panic!(
                            "{}: the test function returned while `iter_async` was running; \
                             await `lt.iter_async(...)` to its end",
                            config.fn_name
                        );
                    }
                };
                let mut settle = || rt.block_on(settle());
                let report = leak_loop::run(config, purpose, &mut body, &mut settle);
                driver.command.set(Some(Command::Finish));
                // The rest of the test function, after tracing stopped.
                rt.block_on(driver.drive(&mut future));
                report
            }
        }
    };
    lt.finish_with(report)
}

fn build(runtime: &RuntimeConfig) -> tokio::runtime::Runtime {
    let mut builder = match runtime.flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = runtime.worker_threads {
                builder.worker_threads(n);
            }
            builder
        }
    };
    builder
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("failed to build the tokio runtime of the leak test: {e}"))
}

/// Gives the tasks the body spawned the chance to finish: runs the
/// runtime until no task is alive, the number of live tasks stops
/// changing, or [`SETTLE_MAX`] has passed. What they still hold after that
/// is retained memory, like any other.
async fn settle() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let start = Instant::now();
    let mut alive = metrics.num_alive_tasks();
    let mut since = start;
    while alive > 0 && since.elapsed() < SETTLE_STABLE && start.elapsed() < SETTLE_MAX {
        // Let the tasks that are ready run (on this thread, for a
        // current-thread runtime), then the ones waiting for a timer.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        let now = metrics.num_alive_tasks();
        if now != alive {
            alive = now;
            since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        build(&RuntimeConfig {
            flavor: Flavor::CurrentThread,
            worker_threads: None,
        })
    }

    #[test]
    fn the_future_parks_between_calls_and_finishes_on_finish() {
        let rt = rt();
        let driver = Rc::new(Driver::default());
        let seen = Rc::new(Cell::new(Vec::new()));
        let (d, s) = (Rc::clone(&driver), Rc::clone(&seen));
        let mut future: LoopFuture<'_> = Box::pin(async move {
            tokio::task::yield_now().await;
            while let Command::Call(i) = d.next_command().await {
                tokio::task::yield_now().await;
                let mut v = s.take();
                v.push(i);
                s.set(v);
            }
        });
        assert_eq!(rt.block_on(driver.drive(&mut future)), Step::Parked);
        for i in 0..3 {
            driver.command.set(Some(Command::Call(i)));
            assert_eq!(rt.block_on(driver.drive(&mut future)), Step::Parked);
        }
        assert_eq!(seen.take(), [0, 1, 2]);
        driver.command.set(Some(Command::Finish));
        assert_eq!(rt.block_on(driver.drive(&mut future)), Step::Finished);
    }

    #[test]
    fn settling_lets_spawned_tasks_finish() {
        let rt = rt();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..3 {
            let done = std::sync::Arc::clone(&done);
            rt.spawn(async move {
                tokio::time::sleep(Duration::from_millis(3)).await;
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
        rt.block_on(settle());
        assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(rt.metrics().num_alive_tasks(), 0);
    }

    #[test]
    fn settling_gives_up_on_a_task_that_never_finishes() {
        let rt = rt();
        rt.spawn(std::future::pending::<()>());
        rt.block_on(settle());
        assert_eq!(rt.metrics().num_alive_tasks(), 1);
    }
}
