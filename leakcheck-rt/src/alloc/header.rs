//! The header in front of every block: which stack and which tracing epoch
//! the block was counted under.

use std::alloc::Layout;

/// A block's header word: `epoch << 32 | stack id`; stack id 0 means the
/// block is not tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header(pub(crate) u64);

impl Header {
    pub(crate) const UNTRACKED: Header = Header(0);

    pub(crate) fn new(epoch: u32, stack: u32) -> Self {
        Header(u64::from(epoch) << 32 | u64::from(stack))
    }

    pub(crate) fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub(crate) fn stack(self) -> u32 {
        self.0 as u32
    }
}

/// Bytes in front of the user's block: 8, or the alignment when larger, so
/// the user's pointer keeps its alignment. The header word is always the
/// 8 bytes right before the user's pointer.
#[inline]
pub(crate) const fn header_size(align: usize) -> usize {
    if align <= 8 { 8 } else { align }
}

/// The layout asked of the inner allocator for a user layout, and the
/// header size; `None` if it would overflow.
#[inline]
pub(crate) fn outer_layout(layout: Layout) -> Option<(Layout, usize)> {
    let header = header_size(layout.align());
    let size = layout.size().checked_add(header)?;
    let outer = Layout::from_size_align(size, layout.align().max(8)).ok()?;
    Some((outer, header))
}

/// [`outer_layout`] of a layout it already accepted once.
///
/// # Safety
///
/// `outer_layout(layout)` must be `Some`: `layout` is the layout of a block
/// the tracking allocator returned.
#[inline]
pub(crate) unsafe fn outer_layout_unchecked(layout: Layout) -> (Layout, usize) {
    let header = header_size(layout.align());
    // SAFETY: the caller promises `outer_layout` accepted this layout, so
    // the sum does not overflow and makes a valid layout with this
    // alignment; it is exactly what `outer_layout` returned.
    let outer = unsafe {
        Layout::from_size_align_unchecked(
            layout.size().unchecked_add(header),
            layout.align().max(8),
        )
    };
    (outer, header)
}

/// Reads the header of a user block.
///
/// # Safety
///
/// `user` must be a live block returned by the tracking allocator.
#[inline]
pub(crate) unsafe fn read(user: *const u8) -> Header {
    // SAFETY: the caller promises `user` came from the tracking allocator,
    // which put an 8-aligned header word in the 8 bytes before it.
    Header(unsafe { user.cast::<u64>().sub(1).read() })
}

/// Writes the header of a user block.
///
/// # Safety
///
/// `user` must point `header_size(align)` bytes into a block of the inner
/// allocator.
#[inline]
pub(crate) unsafe fn write(user: *mut u8, header: Header) {
    // SAFETY: the caller promises the 8 bytes before `user` belong to the
    // block's header area, which is 8-aligned.
    unsafe { user.cast::<u64>().sub(1).write(header.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keeps_alignment() {
        for align in [1, 2, 4, 8, 16, 64, 4096, 1 << 20] {
            let (outer, header) = outer_layout(Layout::from_size_align(3, align).unwrap()).unwrap();
            assert_eq!(header % align, 0);
            assert!(outer.align() >= align && outer.align() >= 8);
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
        assert_eq!((h.epoch(), h.stack()), (7, 42));
    }
}
