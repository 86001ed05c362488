//! The report model shared by `#[leak_test]` and `cargo leakcheck`, its
//! files, and the verdict's reading of a site's series
//! ([`lower_envelope`], [`envelope_share`], [`LATE_SHARE`]) for reports
//! that draw and explain it.

mod load;
mod model;
mod write;

pub use crate::leak_test::verdict::{LATE_SHARE, envelope_share, lower_envelope};
pub use model::*;
pub use write::write_file;
