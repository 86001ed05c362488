//! Turning `argv` into [`Opts`], or into the text to print and the exit code.

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;

use super::{Cargo, DiffOpts, LaunchOpts, MergeOpts, Opts};

/// The result of parsing a command line.
#[derive(Debug)]
pub enum Parsed {
    /// Options to run with.
    Run(Box<Opts>),
    /// `cargo leakcheck diff ...`.
    Diff(Box<DiffOpts>),
    /// `cargo leakcheck merge ...`.
    Merge(Box<MergeOpts>),
    /// `cargo leakcheck run ... -- PROGRAM ...`.
    Launch(Box<LaunchOpts>),
    /// `--help`, `--version`, or no subcommand: clap prints it
    /// (`Error::print`) and its `exit_code()` applies.
    Print(clap::Error),
    /// A usage error: clap's own text (the error, its `tip:` lines and the
    /// usage), printed with `Error::print`; the exit code is 2.
    Usage(clap::Error),
}

/// Parses `args` (with the program name first).
pub fn parse<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // `cargo-leakcheck --version`, run as itself rather than by cargo.
    if let [_, flag] = args.as_slice()
        && (flag == "--version" || flag == "-V")
    {
        args = vec!["cargo".into(), "leakcheck".into(), "--version".into()];
    }
    // `diff`, `merge` and `run` are subcommands only as the first word
    // after `leakcheck`; a test filter of that name is `--filter diff`. `help`
    // prints the help; `list` (nextest's) is not one, and not taken for a
    // filter either.
    if let Some([sub, word]) = args.get(1..3)
        && sub == "leakcheck"
    {
        if word == "help" {
            let mut help: Vec<OsString> = vec!["cargo".into(), "leakcheck".into()];
            if let Some(sub @ ("diff" | "merge" | "run")) = args.get(3).and_then(|a| a.to_str()) {
                help.push(sub.into());
            }
            help.push("--help".into());
            args = help;
        } else if word == "list" {
            return Parsed::Usage(clap::Error::raw(
                ErrorKind::InvalidSubcommand,
                "`list` is not a subcommand of `cargo leakcheck` (its subcommands are \
                 `diff`, `merge`, `run` and `help`); to check the tests whose name contains \
                 `list`, write `cargo leakcheck --filter list`\n",
            ));
        }
    }
    let result = match args.get(1..3) {
        Some([sub, diff]) if sub == "leakcheck" && diff == "diff" => {
            DiffOpts::try_parse_from(&args[2..]).map(|d| Parsed::Diff(Box::new(d)))
        }
        Some([sub, merge]) if sub == "leakcheck" && merge == "merge" => {
            MergeOpts::try_parse_from(&args[2..]).map(|m| Parsed::Merge(Box::new(m)))
        }
        Some([sub, run]) if sub == "leakcheck" && run == "run" => {
            LaunchOpts::try_parse_from(&args[2..]).map(|r| Parsed::Launch(Box::new(r)))
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
            _ => Parsed::Usage(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn usage(args: &[&str]) -> String {
        match parse(args) {
            Parsed::Usage(e) => e.render().to_string(),
            other => panic!("expected a usage error: {other:?}"),
        }
    }

    #[test]
    fn usage_errors_are_clap_s_own_with_their_tips() {
        let text = usage(&["cargo", "leakcheck", "--jsn", "r.json"]);
        assert!(
            text.starts_with("error: unexpected argument '--jsn' found\n"),
            "{text}"
        );
        assert!(
            text.contains("tip: a similar argument exists: '--json'"),
            "{text}"
        );
        assert!(text.contains("Usage: cargo leakcheck"), "{text}");
        let text = usage(&["cargo", "leakcheck", "diff", "only.json", "--bogus"]);
        assert!(text.contains("'--bogus'"), "{text}");
        assert!(text.contains("Usage: cargo leakcheck diff"), "{text}");
    }

    #[test]
    fn version_is_the_program_s() {
        for args in [
            &["cargo", "leakcheck", "--version"][..],
            &["cargo-leakcheck", "leakcheck", "diff", "--version"],
        ] {
            let Parsed::Print(e) = parse(args) else {
                panic!("expected the version");
            };
            assert_eq!(e.exit_code(), 0);
            assert_eq!(
                e.render().to_string(),
                "cargo-leakcheck 0.1.0\n",
                "{args:?}"
            );
        }
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
        // One is a directory of snapshots (or, as a file, a one-line error
        // when read).
        let Parsed::Diff(d) = parse(["cargo", "leakcheck", "diff", "leakcheck-snapshots"]) else {
            panic!("expected diff");
        };
        assert_eq!(d.files, [PathBuf::from("leakcheck-snapshots")]);
        let msg = usage(&["cargo", "leakcheck", "diff"]);
        assert!(msg.contains("SNAPSHOT"), "{msg}");
        let msg = usage(&["cargo", "leakcheck", "x", "--filter", "y"]);
        assert!(msg.contains("cannot be used with"), "{msg}");
    }

    #[test]
    fn help_is_the_help_and_list_is_no_filter() {
        for (args, shows) in [
            (
                &["cargo", "leakcheck", "help"][..],
                "Usage: cargo leakcheck [OPTIONS]",
            ),
            (
                &["cargo", "leakcheck", "help", "diff"],
                "Usage: cargo leakcheck diff",
            ),
            (
                &["cargo", "leakcheck", "help", "merge"],
                "Usage: cargo leakcheck merge",
            ),
            (
                &["cargo", "leakcheck", "help", "run"],
                "Usage: cargo leakcheck run",
            ),
        ] {
            let Parsed::Print(e) = parse(args) else {
                panic!("expected help: {args:?}");
            };
            assert_eq!(e.exit_code(), 0);
            let help = e.render().to_string();
            assert!(help.contains(shows), "{args:?}: {help}");
            assert!(help.contains("Examples:"), "the long help: {help}");
        }
        let msg = usage(&["cargo", "leakcheck", "list"]);
        assert_eq!(
            msg,
            "error: `list` is not a subcommand of `cargo leakcheck` (its subcommands are \
             `diff`, `merge`, `run` and `help`); to check the tests whose name contains `list`, \
             write `cargo leakcheck --filter list`\n"
        );
        for filter in ["help", "list"] {
            let Parsed::Run(o) = parse(["cargo", "leakcheck", "--filter", filter]) else {
                panic!("expected a run");
            };
            assert_eq!(o.filter.as_deref(), Some(filter));
        }
    }

    #[test]
    fn version_run_as_itself() {
        for flag in ["--version", "-V"] {
            let Parsed::Print(e) = parse(["cargo-leakcheck", flag]) else {
                panic!("expected the version");
            };
            assert_eq!(e.exit_code(), 0);
            assert_eq!(e.render().to_string(), "cargo-leakcheck 0.1.0\n");
        }
    }

    #[test]
    fn bare_binary_prints_usage() {
        let Parsed::Print(e) = parse(["cargo-leakcheck"]) else {
            panic!("expected usage");
        };
        assert_eq!(e.exit_code(), 2);
    }
}
