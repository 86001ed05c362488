//! The renderings of a run's outcome ([`crate::outcome`]): human, JSON,
//! JUnit, HTML and GitHub Actions output, and the file writer.

pub mod file;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod location;
pub mod neutralise;

#[cfg(test)]
mod hostile_tests;
