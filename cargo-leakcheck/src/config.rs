//! `.config/leakcheck.toml`: the workspace's own defaults for
//! `cargo leakcheck`, kept in the repository and reviewed like code.
//!
//! ```toml
//! timeout = "10m"            # per test process; "0" for no limit
//! session-min-tests = 4      # tests that make a session site growth
//! jobs = 2                   # test processes at once
//!
//! [[override]]               # the first override that matches wins
//! binary = "slow_suite"      # a binary's name as reports show it
//! test = "replays_a_day"     # a leak test's exact name; omit for all
//! timeout = "30m"
//! ```
//!
//! The file sits beside cargo's own `.cargo/config.toml` convention as
//! nextest's `.config/nextest.toml` does: one directory for the tools'
//! configuration, at the workspace root, found without a manifest key.
//! Sites of accepted session growth stay in `.config/leakcheck-accepted.toml`
//! ([`crate::accepted`]): `--accept` rewrites that file whole, which must
//! never touch the comments of a file written by hand.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::errors::Error;

/// Where the file is, relative to the workspace root.
pub const FILE: &str = ".config/leakcheck.toml";

/// The file's settings; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `timeout`: `Some(None)` is no limit.
    pub timeout: Option<Option<Duration>>,
    /// `session-min-tests`.
    pub session_min_tests: Option<usize>,
    /// `jobs`.
    pub jobs: Option<usize>,
    /// `[[override]]` tables, in file order.
    pub overrides: Vec<Override>,
}

/// Settings for some binaries' or tests' processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The binary, as reports name it; `None` matches every binary.
    pub binary: Option<String>,
    /// A leak test's exact name; `None` matches the session too.
    pub test: Option<String>,
    /// The time limit of the matching processes; `None` is no limit.
    pub timeout: Option<Duration>,
}

impl Override {
    /// `true` when this override applies to `test` of `binary` (`None`:
    /// the binary's session run).
    pub fn matches(&self, binary: &str, test: Option<&str>) -> bool {
        self.binary.as_deref().is_none_or(|b| b == binary)
            && self.test.as_deref().is_none_or(|t| Some(t) == test)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileFormat {
    timeout: Option<Spanned<toml::Value>>,
    session_min_tests: Option<Spanned<i64>>,
    jobs: Option<Spanned<i64>>,
    #[serde(default, rename = "override")]
    overrides: Vec<OverrideFormat>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OverrideFormat {
    binary: Option<String>,
    test: Option<String>,
    timeout: Spanned<toml::Value>,
}

/// Checks that no `[[override]]` names a binary by the name it had before
/// binaries took nextest's binary IDs: it would silently match nothing.
pub fn check_names(config: &Config, renamed: &[(String, String)]) -> Result<(), String> {
    for binary in config.overrides.iter().filter_map(|o| o.binary.as_deref()) {
        if let Some(now) = crate::binary_id::renamed_to(renamed, binary) {
            return Err(format!(
                "an `[[override]]` names binary `{binary}`, which is now named {now} \
                 (binaries are named as nextest names them): rename it"
            ));
        }
    }
    Ok(())
}

/// Checks that every `[[override]]` that names a binary names one of the
/// workspace's (`binary_ids`): one that names none would match nothing, in
/// silence.
pub fn check_binaries(config: &Config, binary_ids: &[String]) -> Result<(), String> {
    for binary in config.overrides.iter().filter_map(|o| o.binary.as_deref()) {
        if !binary_ids.iter().any(|id| id == binary) {
            return Err(format!(
                "an `[[override]]` names binary `{binary}`, which is not a binary of the \
                 workspace (they are: {})",
                binary_ids.join(", ")
            ));
        }
    }
    Ok(())
}

/// The file's path in the workspace at `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// Reads the workspace's configuration; a missing file says nothing.
pub fn load(root: &Path) -> Result<Config, Error> {
    let path = path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => {
            return Err(Error::ConfigFile {
                path,
                reason: e.to_string(),
            });
        }
    };
    parse(&text).map_err(|reason| Error::ConfigFile { path, reason })
}

/// Parses the file's text; `Err` is a one-line reason that names the line.
pub fn parse(text: &str) -> Result<Config, String> {
    let at = |span: std::ops::Range<usize>, message: &str| {
        format!("line {}: {message}", line_at(text, span.start))
    };
    let file: FileFormat = toml::from_str(text).map_err(|e| {
        // toml's messages span several lines (a snippet of the file).
        let message = e.message().trim().replace('\n', " ");
        match e.span() {
            Some(span) => at(span, &message),
            None => message,
        }
    })?;
    // As on the command line: `timeout = 90`, `"90"` and `"90s"` alike.
    let duration = |value: &Spanned<toml::Value>| {
        let parsed = match value.get_ref() {
            toml::Value::String(s) => parse_duration(s),
            toml::Value::Integer(n) => parse_duration(&n.to_string()),
            other => parse_duration(&other.to_string()),
        };
        parsed.map_err(|reason| at(value.span(), &reason))
    };
    let positive = |value: &Spanned<i64>, key: &str| match usize::try_from(*value.get_ref()) {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(at(
            value.span(),
            &format!("`{key}` must be 1 or more, got {}", value.get_ref()),
        )),
    };
    Ok(Config {
        timeout: file.timeout.as_ref().map(duration).transpose()?,
        session_min_tests: file
            .session_min_tests
            .as_ref()
            .map(|v| positive(v, "session-min-tests"))
            .transpose()?,
        jobs: file
            .jobs
            .as_ref()
            .map(|v| positive(v, "jobs"))
            .transpose()?,
        overrides: file
            .overrides
            .iter()
            .map(|o| {
                Ok(Override {
                    binary: o.binary.clone(),
                    test: o.test.clone(),
                    timeout: duration(&o.timeout)?,
                })
            })
            .collect::<Result<_, String>>()?,
    })
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A time limit: seconds, or a number with an `s`, `m` or `h` suffix; `0`
/// is no limit (`None`).
pub fn parse_duration(s: &str) -> Result<Option<Duration>, String> {
    let expected = || format!("expected seconds, or a number with s, m or h; got `{s}`");
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(expected()),
    };
    let n: u64 = number.parse().map_err(|_| expected())?;
    let secs = n
        .checked_mul(scale)
        .ok_or_else(|| format!("`{s}` is too long"))?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_under_a_binarys_old_name_names_the_new_key() {
        let renamed = vec![("replay".to_owned(), "server::replay".to_owned())];
        let config = |binary: &str| {
            parse(&format!(
                "[[override]]\nbinary = \"{binary}\"\ntimeout = \"0\"\n"
            ))
            .unwrap()
        };
        assert_eq!(check_names(&config("server::replay"), &renamed), Ok(()));
        assert_eq!(check_names(&config("elsewhere"), &renamed), Ok(()));
        assert_eq!(
            check_names(&config("replay"), &renamed),
            Err(
                "an `[[override]]` names binary `replay`, which is now named \
                 `binary = \"server::replay\"` (binaries are named as nextest names \
                 them): rename it"
                    .to_owned()
            )
        );
    }

    #[test]
    fn an_override_of_no_binary_of_the_workspace_is_named() {
        let ids = ["server".to_owned(), "server::api".to_owned()];
        let config = |binary: &str| {
            parse(&format!(
                "[[override]]\nbinary = \"{binary}\"\ntimeout = \"0\"\n"
            ))
            .unwrap()
        };
        assert_eq!(check_binaries(&config("server::api"), &ids), Ok(()));
        assert_eq!(
            check_binaries(&parse("[[override]]\ntimeout = 1\n").unwrap(), &ids),
            Ok(())
        );
        assert_eq!(
            check_binaries(&config("server::apj"), &ids),
            Err(
                "an `[[override]]` names binary `server::apj`, which is not a binary of the \
                 workspace (they are: server, server::api)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn reads_defaults_and_overrides() {
        let config = parse(
            "timeout = \"10m\"\nsession-min-tests = 4\njobs = 2\n\n\
             [[override]]\nbinary = \"slow\"\ntest = \"replay\"\ntimeout = \"0\"\n",
        )
        .unwrap();
        assert_eq!(config.timeout, Some(Some(Duration::from_secs(600))));
        assert_eq!(config.session_min_tests, Some(4));
        assert_eq!(config.jobs, Some(2));
        let o = &config.overrides[0];
        assert_eq!(o.timeout, None);
        assert!(o.matches("slow", Some("replay")));
        assert!(!o.matches("slow", None), "not the session");
        assert!(!o.matches("fast", Some("replay")));
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn a_broken_file_is_one_line_naming_the_line() {
        let cases = [
            ("jobs = 2\njbos = 3\n", "line 2: unknown field `jbos`"),
            ("jobs = 0\n", "line 1: `jobs` must be 1 or more, got 0"),
            ("\ntimeout = \"5x\"\n", "line 2: expected seconds"),
            ("jobs = \n", "line 1: "),
            (
                "[[override]]\nbinary = \"a\"\ntimeout = \"1d\"\n",
                "line 3: expected seconds",
            ),
        ];
        for (text, start) in cases {
            let reason = parse(text).unwrap_err();
            assert!(reason.starts_with(start), "{text:?}: {reason}");
            assert!(!reason.contains('\n'), "{reason}");
        }
    }

    #[test]
    fn a_timeout_is_written_as_on_the_command_line() {
        for (value, secs) in [("10", 10), ("\"10\"", 10), ("\"2m\"", 120), ("0", 0)] {
            let config = parse(&format!(
                "timeout = {value}\n[[override]]\ntest = \"t\"\ntimeout = {value}\n"
            ))
            .unwrap_or_else(|e| panic!("{value}: {e}"));
            let expected = (secs > 0).then(|| Duration::from_secs(secs));
            assert_eq!(config.timeout, Some(expected), "{value}");
            assert_eq!(config.overrides[0].timeout, expected, "{value}");
        }
        for (value, got) in [("-5", "-5"), ("1.5", "1.5"), ("true", "true")] {
            let reason = parse(&format!("\ntimeout = {value}\n")).unwrap_err();
            assert_eq!(
                reason,
                format!("line 2: expected seconds, or a number with s, m or h; got `{got}`")
            );
        }
    }

    #[test]
    fn lines_are_counted_from_1() {
        assert_eq!(line_at("a\nb\n", 0), 1);
        assert_eq!(line_at("a\nb\n", 2), 2);
        assert_eq!(line_at("a\n\nc", 3), 3);
        assert_eq!(line_at("a", 99), 1);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(parse_duration("2m"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(parse_duration("1h"), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(parse_duration("0"), Ok(None));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("").is_err());
    }
}
