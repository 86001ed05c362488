//! The outcome of a run and its renderings: human, JSON, JUnit, HTML and
//! GitHub Actions output.

pub mod file;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod location;
pub mod outcome;
