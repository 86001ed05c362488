//! The settings of one run, resolved from the command line, the
//! environment, `.config/leakcheck.toml` and the defaults, in that order
//! of precedence. Everything past the command line reads these, never
//! clap's types.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{ColorChoice, NoTests, Opts, SnapshotMode, Verbosity};
use crate::config::{self, Config, Override};
use crate::errors::Error;
use crate::partition::Partition;

/// The time limit of a test process when nothing sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Tests that make a session site growth when nothing sets it.
pub const DEFAULT_SESSION_MIN_TESTS: usize = 3;

/// The environment variables `cargo leakcheck` reads its settings from.
/// They are named for the program, apart from the `LEAKCHECK_*` variables
/// it sets for its test processes.
pub mod env {
    /// `--timeout`.
    pub const TIMEOUT: &str = "CARGO_LEAKCHECK_TIMEOUT";
    /// `--session-min-tests`.
    pub const SESSION_MIN_TESTS: &str = "CARGO_LEAKCHECK_SESSION_MIN_TESTS";
    /// `-j/--jobs`.
    pub const JOBS: &str = "CARGO_LEAKCHECK_JOBS";
}

/// Everything a run needs to know, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The TESTNAME filter.
    pub filter: Option<String>,
    /// Arguments after `--`.
    pub test_args: Vec<String>,
    /// The time limit of a test process; `None` is no limit.
    pub timeout: Option<Duration>,
    /// Time limits of some binaries' or tests' processes.
    pub overrides: Vec<Override>,
    /// Contributing tests that make a session site growth.
    pub session_min_tests: usize,
    /// Test processes run at once.
    pub jobs: usize,
    /// The binaries of this shard, or all.
    pub partition: Option<Partition>,
    /// How leak snapshots are handled.
    pub snapshot_mode: SnapshotMode,
    /// How much to print.
    pub verbosity: Verbosity,
    /// `--color`, before `CARGO_TERM_COLOR` is consulted.
    pub color: Option<ColorChoice>,
    /// `--json`.
    pub json: Option<PathBuf>,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// `--html`.
    pub html: Option<PathBuf>,
    /// `--no-tests`: what a run that checked nothing is.
    pub no_tests: NoTests,
    /// The threads libtest runs a session's tests on, when it starts them
    /// in name order: see [`libtest_threads`].
    pub libtest_threads: Option<usize>,
}

/// How many threads libtest runs a session's tests on:
/// `RUST_TEST_THREADS`, else one per CPU, as libtest decides (leakcheck
/// passes no `--test-threads` to a session). `None` when libtest may not
/// start them in name order (`--shuffle`, `RUST_TEST_SHUFFLE`), or the
/// number is not known.
fn libtest_threads(test_args: &[String], get: impl Fn(&str) -> Option<String>) -> Option<usize> {
    if test_args.iter().any(|a| a.starts_with("--shuffle")) || get("RUST_TEST_SHUFFLE").is_some() {
        return None;
    }
    match get("RUST_TEST_THREADS") {
        Some(n) => n.parse().ok().filter(|&n: &usize| n > 0),
        None => std::thread::available_parallelism().ok().map(|n| n.get()),
    }
}

impl Settings {
    /// Resolves `opts` over the environment (`get`) over `config` over the
    /// defaults. A bad environment value is an error naming the variable.
    pub fn resolve(
        opts: &Opts,
        get: impl Fn(&str) -> Option<String>,
        config: &Config,
    ) -> Result<Settings, Error> {
        let bad = |var: &'static str, value: &str, reason: &str| Error::ConfigVar {
            var,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let positive = |var: &'static str| -> Result<Option<usize>, Error> {
            match get(var) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(bad(var, &v, "expected a number, 1 or more")),
                },
            }
        };
        let env_timeout = match get(env::TIMEOUT) {
            None => None,
            Some(v) => {
                Some(config::parse_duration(v.trim()).map_err(|r| bad(env::TIMEOUT, &v, &r))?)
            }
        };
        let timeout = opts
            .run
            .timeout
            .map(|t| t.0)
            .or(env_timeout)
            .or(config.timeout)
            .unwrap_or(Some(DEFAULT_TIMEOUT));
        let session_min_tests = match opts.run.session_min_tests {
            Some(n) => n as usize,
            None => positive(env::SESSION_MIN_TESTS)?
                .or(config.session_min_tests)
                .unwrap_or(DEFAULT_SESSION_MIN_TESTS),
        };
        let jobs = match opts.run.jobs {
            Some(n) => n,
            None => positive(env::JOBS)?
                .or(config.jobs)
                .unwrap_or_else(default_jobs),
        };
        Ok(Settings {
            filter: opts.filter.clone(),
            test_args: opts.test_args.clone(),
            timeout,
            // The command line's and the environment's limit is for every
            // process: the file's overrides give way to it.
            overrides: match (opts.run.timeout, get(env::TIMEOUT)) {
                (None, None) => config.overrides.clone(),
                _ => Vec::new(),
            },
            session_min_tests,
            jobs,
            partition: opts.run.partition,
            snapshot_mode: opts.snapshot_mode(),
            verbosity: opts.verbosity(),
            color: opts.output.color,
            json: opts.output.json.clone(),
            junit: opts.output.junit.clone(),
            html: opts.output.html.clone(),
            no_tests: opts.run.no_tests.unwrap_or_default(),
            libtest_threads: libtest_threads(&opts.test_args, &get),
        })
    }

    /// The time limit of `test` of `binary` (`None`: its session): the
    /// first matching override's, else the run's.
    pub fn timeout_for(&self, binary: &str, test: Option<&str>) -> Option<Duration> {
        self.overrides
            .iter()
            .find(|o| o.matches(binary, test))
            .map_or(self.timeout, |o| o.timeout)
    }

    /// `true` when only some tests run: a filter, or test arguments that
    /// skip some. Such a run cannot tell a site that stopped growing from
    /// one whose tests did not run.
    pub fn filtered(&self) -> bool {
        self.filter.is_some() || self.test_args.iter().any(|a| a != "--include-ignored")
    }
}

/// How to build, for cargo: resolved from the command line alone, before
/// the workspace (and so its configuration) is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSettings {
    /// Selection and build flags, as cargo takes them (all but
    /// `--target-dir`, which leakcheck replaces with its own).
    pub cargo_args: Vec<String>,
    /// `--locked`, `--offline`, `--frozen`, which `cargo metadata` takes too.
    pub lock_args: Vec<String>,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_dir: Option<PathBuf>,
    /// The profile: `--profile`, `release` for `-r`, else cargo's own.
    pub profile: Option<String>,
    /// `-q`, nothing, or `-v` (then `verbose` is how many).
    pub verbosity: Verbosity,
    /// The number of `-v`.
    pub verbose: u8,
    /// `-p` values, checked against the workspace's members.
    pub packages: Vec<String>,
    /// `--test` values, checked against its test targets.
    pub tests: Vec<String>,
    /// Whether leakcheck's allocator goes into test binaries that do not
    /// install it (not `--no-inject`).
    pub inject: bool,
    /// `--native`: the engine's `malloc` front end is built into the test
    /// binaries, and C code built by build scripts keeps frame pointers.
    pub native: bool,
}

impl BuildSettings {
    /// The build settings of `opts`.
    pub fn from_opts(opts: &Opts) -> BuildSettings {
        let mut cargo_args = opts.selection.cargo_args();
        cargo_args.extend(opts.build.cargo_args());
        BuildSettings {
            cargo_args,
            lock_args: opts.build.lock_args(),
            manifest_path: opts.build.manifest_path.clone(),
            target_dir: opts.build.target_dir.clone(),
            profile: match (&opts.build.profile, opts.build.release) {
                (Some(p), _) => Some(p.clone()),
                (None, true) => Some("release".into()),
                (None, false) => None,
            },
            verbosity: opts.verbosity(),
            verbose: opts.output.verbose,
            packages: opts.selection.package.clone(),
            tests: opts.selection.test.clone(),
            inject: !opts.build.no_inject,
            native: opts.build.native,
        }
    }
}

/// The number of CPUs, or 1 when it cannot be told.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cli::{Parsed, parse};

    fn opts(args: &str) -> Box<Opts> {
        match parse(args.split_whitespace()) {
            Parsed::Run(opts) => opts,
            other => panic!("{args}: {other:?}"),
        }
    }

    fn resolve(args: &str, env: &[(&str, &str)], file: &str) -> Result<Settings, Error> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = config::parse(file).unwrap();
        Settings::resolve(&opts(args), |k| env.get(k).cloned(), &config)
    }

    #[test]
    fn libtest_s_threads_are_its_variable_else_one_per_cpu_and_none_when_shuffled() {
        let cpus = std::thread::available_parallelism().ok().map(|n| n.get());
        let threads =
            |args: &str, env: &[(&str, &str)]| resolve(args, env, "").unwrap().libtest_threads;
        assert_eq!(threads("cargo leakcheck", &[]), cpus);
        assert_eq!(
            threads("cargo leakcheck", &[("RUST_TEST_THREADS", "3")]),
            Some(3)
        );
        assert_eq!(
            threads("cargo leakcheck", &[("RUST_TEST_THREADS", "0")]),
            None
        );
        assert_eq!(
            threads("cargo leakcheck", &[("RUST_TEST_SHUFFLE", "1")]),
            None
        );
        assert_eq!(
            threads("cargo leakcheck -- -Z unstable-options --shuffle", &[]),
            None
        );
    }

    #[test]
    fn command_line_beats_environment_beats_file_beats_defaults() {
        let file = "timeout = \"1m\"\nsession-min-tests = 5\njobs = 3\n";
        let env = [
            (env::TIMEOUT, "2m"),
            (env::SESSION_MIN_TESTS, "6"),
            (env::JOBS, "4"),
        ];
        let s = resolve("cargo leakcheck", &[], "").unwrap();
        assert_eq!(s.timeout, Some(DEFAULT_TIMEOUT));
        assert_eq!(s.session_min_tests, DEFAULT_SESSION_MIN_TESTS);
        assert_eq!(s.jobs, default_jobs());
        let s = resolve("cargo leakcheck", &[], file).unwrap();
        assert_eq!(
            (s.timeout, s.session_min_tests, s.jobs),
            (Some(Duration::from_secs(60)), 5, 3)
        );
        let s = resolve("cargo leakcheck", &env, file).unwrap();
        assert_eq!(
            (s.timeout, s.session_min_tests, s.jobs),
            (Some(Duration::from_secs(120)), 6, 4)
        );
        let s = resolve(
            "cargo leakcheck --timeout 0 --session-min-tests 7 -j 1",
            &env,
            file,
        )
        .unwrap();
        assert_eq!((s.timeout, s.session_min_tests, s.jobs), (None, 7, 1));
    }

    #[test]
    fn overrides_apply_unless_the_limit_is_set_outside_the_file() {
        let file = "timeout = \"1m\"\n[[override]]\nbinary = \"slow\"\ntimeout = \"10m\"\n\
                    [[override]]\ntest = \"hangs\"\ntimeout = \"0\"\n";
        let s = resolve("cargo leakcheck", &[], file).unwrap();
        assert_eq!(s.timeout_for("slow", None), Some(Duration::from_secs(600)));
        assert_eq!(
            s.timeout_for("slow", Some("hangs")),
            Some(Duration::from_secs(600)),
            "the first match wins"
        );
        assert_eq!(s.timeout_for("fast", Some("hangs")), None);
        assert_eq!(s.timeout_for("fast", None), Some(Duration::from_secs(60)));
        let s = resolve("cargo leakcheck --timeout 5s", &[], file).unwrap();
        assert_eq!(s.timeout_for("slow", None), Some(Duration::from_secs(5)));
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let e = resolve("cargo leakcheck", &[(env::JOBS, "many")], "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad configuration: CARGO_LEAKCHECK_JOBS=many: expected a number, 1 or more"
        );
        assert_eq!(e.process_exit_code(), crate::errors::exit_codes::USAGE);
        let e = resolve("cargo leakcheck", &[(env::TIMEOUT, "soon")], "").unwrap_err();
        assert!(
            e.to_string()
                .contains("CARGO_LEAKCHECK_TIMEOUT=soon: expected seconds"),
            "{e}"
        );
    }
}
