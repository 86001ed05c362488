//! The header in front of every block: which stack and which tracing epoch
//! the block was counted under, and which allocator owns the block.
//!
//! ```text
//!   align <= 8:  base ─► [ header: 8 bytes, maybe unaligned ][ user block ]
//!   align  > 8:  base ─► [ padding ][ header ][ user block ]   (align bytes)
//! ```
//!
//! The inner allocator is asked for the user's own alignment: for small
//! alignments the header word is simply unaligned (read and written as
//! such), so a 1-byte-aligned block stays 1-byte-aligned for the inner
//! allocator. What remains is the size: 8 more bytes per block, or the
//! alignment itself above 8 (so the user's pointer keeps its alignment).

use std::alloc::Layout;

/// A block's header word: `epoch << 32 | owner bit | sampled bit |
/// registered bit | stack id`; stack id 0 means the block is not tracked.
/// A user block that is neither tracked nor registered has the header 0,
/// which is all that its `free` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header(pub u64);

/// Set in blocks the tracker allocated for itself from `System`, which must
/// go back to `System`, not to the inner allocator. Stack ids stay far below
/// it ([`MAX_STACKS`](super::intern::MAX_STACKS)).
const SYSTEM_OWNED: u64 = 1 << 31;
/// Set in blocks counted by sampled tracking: they stand for more than
/// themselves (`sample.rs`), and their `free` takes back that weight.
const SAMPLED: u64 = 1 << 30;
/// Set in user blocks put in the live-block registry (`registry.rs`), which
/// their `free` takes out again.
const REGISTERED: u64 = 1 << 29;
/// The stack id's bits.
const STACK: u64 = REGISTERED - 1;

impl Header {
    pub const UNTRACKED: Header = Header(0);
    /// An untracked block of the tracker's own, from `System`.
    pub const SYSTEM: Header = Header(SYSTEM_OWNED);

    pub fn new(epoch: u32, stack: u32) -> Self {
        debug_assert!(u64::from(stack) <= STACK);
        Header(u64::from(epoch) << 32 | u64::from(stack))
    }

    /// The header of a block counted by sampled tracking.
    pub fn sampled(epoch: u32, stack: u32) -> Self {
        Header(Header::new(epoch, stack).0 | SAMPLED)
    }

    /// The same header, for a block put in the live-block registry.
    pub fn registered(self) -> Self {
        Header(self.0 | REGISTERED)
    }

    pub fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn stack(self) -> u32 {
        (self.0 & STACK) as u32
    }

    /// `true` when the block is in the live-block registry.
    pub fn is_registered(self) -> bool {
        self.0 & REGISTERED != 0
    }

    /// `true` for a user block that was neither counted nor registered: its
    /// `free` has nothing to undo.
    #[cfg_attr(leakcheck_native, allow(dead_code))]
    #[inline(always)]
    pub fn is_plain(self) -> bool {
        self.0 == 0
    }

    /// `true` for a block of the user's allocator that is not registered:
    /// its `free` has at most a count to undo.
    #[cfg_attr(leakcheck_native, allow(dead_code))]
    #[inline(always)]
    pub fn is_user_counted(self) -> bool {
        self.0 & (SYSTEM_OWNED | REGISTERED) == 0
    }

    /// `true` when sampled tracking counted the block, with its weight.
    pub fn is_sampled(self) -> bool {
        self.0 & SAMPLED != 0
    }

    /// `true` when the block came from `System`, not the inner allocator.
    pub fn system_owned(self) -> bool {
        self.0 & SYSTEM_OWNED != 0
    }
}

/// Bytes in front of the user's block: 8, or the alignment when larger, so
/// the user's pointer keeps its alignment. The header word is always the
/// 8 bytes right before the user's pointer.
#[inline]
pub const fn header_size(align: usize) -> usize {
    if align <= 8 { 8 } else { align }
}

/// The layout asked of the inner allocator for a user layout (the user's
/// alignment, the size plus the header), and the header size; `None` if it
/// would overflow.
#[inline]
pub fn outer_layout(layout: Layout) -> Option<(Layout, usize)> {
    let header = header_size(layout.align());
    let size = layout.size().checked_add(header)?;
    let outer = Layout::from_size_align(size, layout.align()).ok()?;
    Some((outer, header))
}

/// [`outer_layout`] of a layout it already accepted once.
///
/// # Safety
///
/// `outer_layout(layout)` must be `Some`: `layout` is the layout of a block
/// the tracking allocator returned.
#[inline]
pub unsafe fn outer_layout_unchecked(layout: Layout) -> (Layout, usize) {
    let header = header_size(layout.align());
    // SAFETY: the caller promises `outer_layout` accepted this layout, so
    // the sum does not overflow and makes a valid layout with this
    // alignment; it is exactly what `outer_layout` returned.
    let outer = unsafe {
        Layout::from_size_align_unchecked(layout.size().unchecked_add(header), layout.align())
    };
    (outer, header)
}

/// Reads the header of a user block.
///
/// # Safety
///
/// `user` must be a live block returned by the tracking allocator.
#[inline]
pub unsafe fn read(user: *const u8) -> Header {
    // SAFETY: the caller promises `user` came from the tracking allocator,
    // which put a header word in the 8 bytes before it (8-aligned only when
    // the block's alignment is 8 or more, hence the unaligned read).
    Header(unsafe { user.cast::<u64>().sub(1).read_unaligned() })
}

/// Writes the header of a user block.
///
/// # Safety
///
/// `user` must point `header_size(align)` bytes into a block of the inner
/// allocator (or of `System`).
#[inline]
pub unsafe fn write(user: *mut u8, header: Header) {
    // SAFETY: the caller promises the 8 bytes before `user` belong to the
    // block's header area; they may be unaligned.
    unsafe { user.cast::<u64>().sub(1).write_unaligned(header.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keeps_alignment() {
        for align in [1, 2, 4, 8, 16, 64, 4096, 1 << 20] {
            let (outer, header) = outer_layout(Layout::from_size_align(3, align).unwrap()).unwrap();
            assert_eq!(header % align, 0);
            // The inner allocator sees the user's alignment, not more.
            assert_eq!(outer.align(), align);
            assert_eq!(outer.size(), 3 + header);
        }
        assert!(
            outer_layout(Layout::from_size_align(isize::MAX as usize - 16, 8).unwrap()).is_some()
        );
        assert!(
            outer_layout(Layout::from_size_align(isize::MAX as usize - 4, 1).unwrap()).is_none()
        );
    }

    #[test]
    fn unchecked_matches_checked() {
        for (size, align) in [(0, 1), (3, 1), (24, 8), (100, 16), (5, 4096)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: `outer_layout` accepts these small layouts.
            let unchecked = unsafe { outer_layout_unchecked(layout) };
            assert_eq!(Some(unchecked), outer_layout(layout));
        }
    }

    #[test]
    fn header_fields() {
        let h = Header::new(7, 42);
        assert_eq!((h.epoch(), h.stack(), h.system_owned()), (7, 42, false));
        assert!(!h.is_sampled());
        let s = Header::sampled(7, 42);
        assert_eq!((s.epoch(), s.stack(), s.is_sampled()), (7, 42, true));
        assert_eq!(Header::SYSTEM.stack(), 0);
        assert!(Header::SYSTEM.system_owned());
        assert!(!Header::UNTRACKED.system_owned());
        assert!(Header::UNTRACKED.is_plain());
        let r = Header::sampled(7, 42).registered();
        assert_eq!(
            (r.stack(), r.is_sampled(), r.is_registered()),
            (42, true, true)
        );
        assert!(!Header::UNTRACKED.registered().is_plain());
        assert!(!Header::SYSTEM.is_plain());
        assert!(!h.is_registered());
        assert!(h.is_user_counted() && s.is_user_counted());
        assert!(Header::UNTRACKED.is_user_counted());
        assert!(!r.is_user_counted() && !Header::SYSTEM.is_user_counted());
    }
}
