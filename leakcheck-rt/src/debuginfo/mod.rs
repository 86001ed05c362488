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
mod ranges;
mod registry;

pub(crate) use registry::DebugInfo;
