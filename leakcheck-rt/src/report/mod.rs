//! The report model shared by `#[leak_test]` and `cargo leakcheck`.

mod model;

pub use model::*;
