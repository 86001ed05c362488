//! Frames of a code address from the debug info of the object it is in,
//! read the way addr2line reads it but lazily: `.debug_aranges` names the
//! compile unit of an address, and only that unit (and the units its
//! `DW_FORM_ref_addr` names point into) is parsed, once. Code in no
//! arange, and frames the debug info gives no name, are named from the
//! symbol table, as backtrace names them. What this cannot answer (an
//! object without aranges, compressed or split debug info, an error while
//! reading a unit) is left to the `backtrace` crate, which parses the whole
//! of an object's debug info.
//!
//! ```text
//!  ip ─► loaded object (dl_iterate_phdr: path, bias)
//!          └─► ObjectDebug (mmap'd file, aranges) ─► unit ─► function ─► inlined chain
//!                                                      └─► line table
//! ```

mod functions;
mod lines;
mod object;
mod registry;

pub(crate) use registry::DebugInfo;

/// Where the half-open range `[begin, end)` lies against `probe`, for a
/// binary search over sorted, disjoint ranges: `Equal` when it holds it.
fn range_order(begin: u64, end: u64, probe: u64) -> std::cmp::Ordering {
    if probe < begin {
        std::cmp::Ordering::Greater
    } else if probe >= end {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Equal
    }
}

/// How the sections are read: straight from the mapped file.
type Reader = gimli::EndianSlice<'static, gimli::RunTimeEndian>;
