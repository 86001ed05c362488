//! `cargo leakcheck diff`: snapshots dumped by a running service, compared
//! (two) or judged as a series (three or more).

mod finding;
mod inputs;
mod render;
mod run;

pub use run::execute;
