//! The report model shared by `#[leak_test]` and `cargo leakcheck`, its
//! files, and the verdict's reading of a site's series
//! ([`lower_envelope`], [`envelope_share`], [`LATE_SHARE`]) for reports
//! that draw and explain it.

pub use leakcheck_format::report::*;
pub use leakcheck_format::verdict::{LATE_SHARE, envelope_share, lower_envelope};
