//! The report model shared by `#[leak_test]` and `cargo leakcheck`, and
//! its files. (The verdict's reading of a site's series, for reports that
//! draw and explain it, is in [`verdict`](crate::verdict).)

mod load;
mod model;
mod write;

pub use model::*;
pub use write::write_file;
