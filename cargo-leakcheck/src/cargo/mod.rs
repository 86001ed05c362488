//! Talking to cargo: the workspace, and building the test targets.

pub mod artifact;
pub mod build;
pub mod inject;
pub mod preload;
pub mod rustc_wrapper;
pub mod shadow;
pub mod workspace;

pub use workspace::cargo_program;
