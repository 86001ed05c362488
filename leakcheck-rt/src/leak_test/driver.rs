//! The hand-off between the measured loop and the test's future parked in
//! `LeakLoop::iter_async` (see `async_rt.rs`): the runner sets a command
//! and polls the future until it parks again or returns.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// The future of an `async fn` leak test, borrowing its [`LeakLoop`].
pub type LoopFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// What the runner tells the future parked in `iter_async`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// Run call number `i` and park again.
    Call(u64),
    /// Return from `iter_async`.
    Finish,
}

/// Where one `block_on` of the test's future stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Waiting in `iter_async` for the next command.
    Parked,
    /// The test function returned.
    Finished,
}

/// The hand-off between the runner and `iter_async`, shared by both.
#[derive(Debug, Default)]
pub(crate) struct Driver {
    pub(super) command: Cell<Option<Command>>,
    parked: Cell<bool>,
}

impl Driver {
    /// The next command; until the runner gives one, `iter_async` is
    /// parked. No waker is registered: the runner polls the future itself
    /// once it has set a command.
    pub(crate) async fn next_command(&self) -> Command {
        poll_fn(|_| match self.command.take() {
            Some(command) => {
                self.parked.set(false);
                Poll::Ready(command)
            }
            None => {
                self.parked.set(true);
                Poll::Pending
            }
        })
        .await
    }

    /// Polls the test's future until it parks in `iter_async` or returns.
    pub(super) fn drive<'f>(
        &'f self,
        future: &'f mut LoopFuture<'_>,
    ) -> impl Future<Output = Step> + 'f {
        poll_fn(move |cx| match future.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Step::Finished),
            Poll::Pending if self.parked.get() => Poll::Ready(Step::Parked),
            Poll::Pending => Poll::Pending,
        })
    }
}
