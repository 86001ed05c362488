//! The report model shared by `#[leak_test]` and `cargo leakcheck`, and its
//! files.

mod load;
mod model;
mod write;

pub use model::*;
pub use write::write_file;
