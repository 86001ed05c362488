//! What the readers of a compile unit share: the reader of the mapped
//! sections, and the search over sorted address ranges.

/// Where the half-open range `[begin, end)` lies against `probe`, for a
/// binary search over sorted, disjoint ranges: `Equal` when it holds it.
pub(super) fn range_order(begin: u64, end: u64, probe: u64) -> std::cmp::Ordering {
    if probe < begin {
        std::cmp::Ordering::Greater
    } else if probe >= end {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Equal
    }
}

/// How the sections are read: straight from the mapped file.
pub(super) type Reader = gimli::EndianSlice<'static, gimli::RunTimeEndian>;
