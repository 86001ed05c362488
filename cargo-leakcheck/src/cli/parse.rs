//! Turning `argv` into [`Opts`], or into the text to print and the exit code.

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;

use super::{Cargo, DiffOpts, Opts};

/// The result of parsing a command line.
#[derive(Debug)]
pub enum Parsed {
    /// Options to run with.
    Run(Box<Opts>),
    /// `cargo leakcheck diff ...`.
    Diff(Box<DiffOpts>),
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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // `diff` is a subcommand only as the first word after `leakcheck`; a
    // test filter of that name is `--filter diff`.
    let result = match args.get(1..3) {
        Some([sub, diff]) if sub == "leakcheck" && diff == "diff" => {
            DiffOpts::try_parse_from(&args[2..]).map(|d| Parsed::Diff(Box::new(d)))
        }
        _ => Cargo::try_parse_from(&args).map(|Cargo::Leakcheck(mut opts)| {
            if let Some(filter) = opts.filter_flag.take() {
                opts.filter = Some(filter);
            }
            Parsed::Run(opts)
        }),
    };
    match result {
        Ok(parsed) => parsed,
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
    use std::path::PathBuf;

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
    fn diff_is_a_subcommand_and_a_filter_named_diff_has_a_way_through() {
        let Parsed::Diff(d) = parse(["cargo", "leakcheck", "diff", "a.json", "b.json"]) else {
            panic!("expected diff");
        };
        assert_eq!(d.files, [PathBuf::from("a.json"), PathBuf::from("b.json")]);
        let Parsed::Run(o) = parse(["cargo", "leakcheck", "--filter", "diff"]) else {
            panic!("expected a run");
        };
        assert_eq!(o.filter.as_deref(), Some("diff"));
        let Parsed::Run(o) = parse(["cargo", "leakcheck", "handle"]) else {
            panic!("expected a run");
        };
        assert_eq!(o.filter.as_deref(), Some("handle"));
        let Parsed::Usage(msg) = parse(["cargo", "leakcheck", "diff", "only.json"]) else {
            panic!("one snapshot is a usage error");
        };
        assert!(msg.contains("SNAPSHOT"), "{msg}");
        let Parsed::Usage(msg) = parse(["cargo", "leakcheck", "x", "--filter", "y"]) else {
            panic!("two filters are a usage error");
        };
        assert!(msg.contains("cannot be used with"), "{msg}");
    }

    #[test]
    fn bare_binary_prints_usage() {
        let Parsed::Print(e) = parse(["cargo-leakcheck"]) else {
            panic!("expected usage");
        };
        assert_eq!(e.exit_code(), 2);
    }
}
