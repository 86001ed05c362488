//! What the allocator does per block: count it under its stack, or uncount
//! it. Called from `GlobalAlloc` methods; must not allocate, lock or panic.

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::Relaxed;

use super::control::{DEPTH, EPOCH, TRACING};
use super::counters;
use super::guard::{Guard, Mode};
use super::header::Header;
use super::recent;
use super::stack::{self, MAX_WALK};

/// Counts a new block of `size` bytes allocated in `mode`; returns the
/// header to store in it.
#[inline]
pub(crate) fn on_alloc(size: usize, mode: Mode) -> Header {
    if !TRACING.load(Relaxed) || mode != Mode::Free {
        return Header::UNTRACKED;
    }
    let Some(_guard) = Guard::enter() else {
        return Header::UNTRACKED;
    };
    let epoch = EPOCH.load(Relaxed);
    let mut buf = [MaybeUninit::<usize>::uninit(); MAX_WALK];
    let depth = DEPTH.load(Relaxed).min(MAX_WALK);
    let (n, hash) = stack::capture(&mut buf[..depth]);
    let id = recent::stack_id(stack::written(&buf, n), hash);
    if !counters::add(epoch, id, size as i64, 1) {
        // Nowhere to count it: leave it untracked, so its free is ignored.
        return Header::UNTRACKED;
    }
    Header::new(epoch, id)
}

/// Uncounts a block of `size` bytes that carried `header`. Blocks from
/// before tracing began, or from an earlier epoch, were never counted.
#[inline]
pub(crate) fn on_free(header: Header, size: usize) {
    if header.stack() == 0 || header.epoch() != EPOCH.load(Relaxed) {
        return;
    }
    counters::add(header.epoch(), header.stack(), -(size as i64), -1);
}
