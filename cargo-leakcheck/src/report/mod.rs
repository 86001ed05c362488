//! The outcome of a run and its two renderings: human and JSON.

pub mod human;
pub mod json;
pub mod outcome;
