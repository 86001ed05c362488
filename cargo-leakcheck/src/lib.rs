//! `cargo leakcheck`.

#![forbid(unsafe_code)]

pub mod cli;
pub mod errors;
pub mod report;
pub mod run;
pub mod ui;

use std::ffi::OsString;

/// Runs `cargo leakcheck` with `args` (program name first); returns the
/// process exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match cli::parse(args) {
        cli::Parsed::Run(_opts) => 0,
        cli::Parsed::Print(e) => {
            let _ = e.print();
            e.exit_code()
        }
        cli::Parsed::Usage(msg) => {
            eprintln!("error: {msg}");
            errors::exit_codes::USAGE
        }
    }
}
