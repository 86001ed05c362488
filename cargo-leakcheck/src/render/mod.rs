//! The renderings of a run's outcome ([`crate::outcome`]): human, JSON,
//! JUnit, HTML and GitHub Actions output, the file writer, and the units
//! sizes and rates are shown in.

pub mod file;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod location;
pub mod neutralise;
pub mod units;

#[cfg(test)]
mod hostile_tests;
