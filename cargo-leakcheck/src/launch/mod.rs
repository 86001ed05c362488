//! `cargo leakcheck run -- PROGRAM`: a program started unchanged with
//! leakcheck's library preloaded.

pub mod program;
pub mod run;
