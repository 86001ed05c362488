//! Whether an allocation of user code may take a fast path: one load of
//! one word that says that the countdown of sampled tracking (or exact
//! tracking's count) is all an allocation needs to look at.
//!
//! ```text
//!  alloc ──► mode Free, SLOW == 0 ──► countdown ──► not picked: header 0, no other work
//!             │    │                      │           (`malloc` front end: glibc's block
//!             │    │                      │            as it is, no prefix)
//!             │    │                      └──► picked: counted with its weight
//!             │    └─ SLOW == NOT_SAMPLED ──► exact tracking's count, out of line
//!             └──► the general path (the first allocation, the live-block
//!                  registry, untracked and tracker code)
//! ```
//!
//! Each bit of `SLOW` is one reason to take the general path; each is set
//! and cleared by whoever owns that state, right after changing it, so a
//! racing allocation sees the new state no later than it would have seen
//! the state itself.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// The process's first allocation has not run its hook yet
/// (`control::first_allocation`).
pub(crate) const FIRST_PENDING: u8 = 1;
/// Tracking is not sampled: exact, or off (`sample::set`).
pub(crate) const NOT_SAMPLED: u8 = 2;
/// The live-block registry is on: every user block goes in it
/// (`registry::enable`).
pub(crate) const REGISTRY: u8 = 4;

/// The reasons, as bits, that allocations take the general path now.
static SLOW: AtomicU8 = AtomicU8::new(FIRST_PENDING | NOT_SAMPLED);

/// The reasons that hold now: 0 when the allocation of user code may be
/// counted by the countdown alone, [`NOT_SAMPLED`] alone when it is
/// counted (or not) by exact tracking's rules and nothing else. (The
/// `malloc` front end looks for 0 only.)
#[inline(always)]
pub(crate) fn reasons() -> u8 {
    SLOW.load(Relaxed)
}

/// Sets (`true`) or clears the reason `bit`.
pub(crate) fn set(bit: u8, on: bool) {
    if on {
        SLOW.fetch_or(bit, Relaxed);
    } else {
        SLOW.fetch_and(!bit, Relaxed);
    }
}
