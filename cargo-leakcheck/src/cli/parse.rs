//! Turning `argv` into [`Opts`], or into the text to print and the exit code.

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;

use super::{Cargo, Opts};

/// The result of parsing a command line.
#[derive(Debug)]
pub enum Parsed {
    /// Options to run with.
    Run(Box<Opts>),
    /// `--help`, `--version`, or no subcommand: clap prints it
    /// (`Error::print`) and its `exit_code()` applies.
    Print(clap::Error),
    /// A usage error, as one line (without `error: `).
    Usage(String),
}

/// Parses `args` (with the program name first).
pub fn parse<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cargo::try_parse_from(args) {
        Ok(Cargo::Leakcheck(opts)) => Parsed::Run(opts),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Parsed::Print(e),
            _ => Parsed::Usage(one_line(&e.render().to_string())),
        },
    }
}

/// clap's error as one line: its first line, without `error: `, plus where
/// to look next.
fn one_line(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first} (see `cargo leakcheck --help`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_one_line() {
        let Parsed::Usage(msg) = parse(["cargo", "leakcheck", "--bogus"]) else {
            panic!("expected a usage error");
        };
        assert_eq!(
            msg,
            "unexpected argument '--bogus' found (see `cargo leakcheck --help`)"
        );
    }

    #[test]
    fn help_is_printed_not_an_error() {
        let Parsed::Print(e) = parse(["cargo", "leakcheck", "--help"]) else {
            panic!("expected help");
        };
        assert_eq!(e.exit_code(), 0);
        let help = e.render().to_string();
        assert!(help.contains("Package selection"), "{help}");
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(help.contains("Usage: cargo leakcheck"), "{help}");
    }

    #[test]
    fn bare_binary_prints_usage() {
        let Parsed::Print(e) = parse(["cargo-leakcheck"]) else {
            panic!("expected usage");
        };
        assert_eq!(e.exit_code(), 2);
    }
}
