//! One run of `cargo leakcheck`, from parsed options to an exit code.

use std::path::Path;
use std::time::Instant;

use crate::accepted;
use crate::cargo::{self, build, workspace};
use crate::cli::{ColorChoice, NoTests, Opts, SnapshotMode, Verbosity};
use crate::config;
use crate::errors::{Error, exit_codes};
use crate::outcome::{BinaryOutcome, LeakTestOutcome, RunOutcome};
use crate::partition::Partition;
use crate::render::github::{self, Actions};
use crate::render::html::Page;
use crate::render::human::{self, Style};
use crate::render::neutralise::terminal;
use crate::render::{file, json, junit};
use crate::review;
use crate::run::{
    Listing, RunContext, SessionRun, TestBinary, interrupt, list, pool, run_leak_test, run_session,
};
use crate::settings::{BuildSettings, Settings};
use crate::ui::{self, Paint, Progress};

/// Builds, runs and reports; returns the exit code of the findings.
/// Errors are what stopped the run before (or after) the findings.
///
/// SIGINT or SIGTERM stops the run wherever it is (its children are killed
/// with their process groups, see [`interrupt`]) and ends it with
/// [`Error::Interrupted`], whatever else went wrong on the way.
pub fn execute(opts: &Opts) -> Result<i32, Error> {
    interrupt::install();
    let result = execute_uninterrupted(opts);
    match interrupt::signal() {
        Some(signal) => Err(Error::Interrupted { signal }),
        None => result,
    }
}

/// The report files a run or a merge writes.
pub struct Outputs<'a> {
    /// `--json`.
    pub json: Option<&'a Path>,
    /// `--junit`.
    pub junit: Option<&'a Path>,
    /// `--html`.
    pub html: Option<&'a Path>,
    /// The shard this run was, which its JSON report records.
    pub partition: Option<Partition>,
}

impl Outputs<'_> {
    /// Checks that cost nothing, before the build: a typo in a path, a
    /// directory, a dangling symlink or two reports on one file must not
    /// cost a whole run.
    pub fn check_writable(&self) -> Result<(), Error> {
        if let Some(path) = self.json {
            json::check_writable(path)?;
        }
        if let Some(path) = self.junit {
            file::check_writable("JUnit report", path)?;
        }
        if let Some(path) = self.html {
            file::check_writable("HTML report", path)?;
        }
        let named = [
            ("--json", self.json),
            ("--junit", self.junit),
            ("--html", self.html),
        ];
        let named: Vec<(&'static str, &Path)> = named
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path?)))
            .filter(|(_, path)| path.as_os_str() != "-")
            .collect();
        for (i, &(first, a)) in named.iter().enumerate() {
            for &(second, b) in &named[i + 1..] {
                if file::same_file(a, b) {
                    return Err(Error::SameOutput {
                        first,
                        second,
                        path: b.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The paint for stderr: `--color`, else `CARGO_TERM_COLOR`, else auto.
pub fn stderr_paint(flag: Option<ColorChoice>) -> (Paint, ColorChoice) {
    let color = ui::color_choice(flag, std::env::var("CARGO_TERM_COLOR").ok().as_deref());
    (
        Paint::new(ui::use_color(color, ui::stderr_is_terminal())),
        color,
    )
}

fn execute_uninterrupted(opts: &Opts) -> Result<i32, Error> {
    let (paint, color) = stderr_paint(opts.output.color);
    if opts.snapshot_mode() == SnapshotMode::Review && !ui::interactive() {
        return Err(Error::ReviewNeedsTerminal);
    }
    // The report paths come from the command line only: checked first,
    // even outside a workspace.
    Outputs {
        json: opts.output.json.as_deref(),
        junit: opts.output.junit.as_deref(),
        html: opts.output.html.as_deref(),
        partition: opts.run.partition,
    }
    .check_writable()?;
    let cargo = cargo::cargo_program();
    let build_settings = BuildSettings::from_opts(opts);
    let ws = workspace::load(&cargo, &build_settings)?;
    let config = config::load(&ws.root)?;
    config::check_names(&config, &ws.renamed)
        .and_then(|()| config::check_binaries(&config, &ws.binary_ids))
        .map_err(|reason| Error::ConfigFile {
            path: config::path(&ws.root),
            reason,
        })?;
    let settings = Settings::resolve(opts, |k| std::env::var(k).ok(), &config)?;
    let outputs = Outputs {
        json: settings.json.as_deref(),
        junit: settings.junit.as_deref(),
        html: settings.html.as_deref(),
        partition: settings.partition,
    };
    workspace::check_selection(&ws, &build_settings)?;
    let accepted = accepted::load(&ws.root)?;
    accepted::check_names(&accepted, &ws.renamed).map_err(|reason| Error::AcceptedFile {
        path: accepted::path(&ws.root),
        reason,
    })?;
    if build_settings.native && !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return Err(Error::NativeUnsupported);
    }
    let (mut binaries, native_libs) = build::build(&build_settings, &ws, &cargo, color)?;
    if let Some(partition) = settings.partition {
        binaries = partition.select(binaries, |b| &b.name);
    }

    let progress = Progress::new(
        ui::show_progress(settings.verbosity, ui::stderr_is_terminal(), ui::in_ci()),
        paint,
    )
    .quiet(settings.verbosity == Verbosity::Quiet);
    let cx = RunContext {
        workspace_root: &ws.root,
        cargo: &cargo,
        settings: &settings,
        accepted: &accepted,
        progress: &progress,
        paint,
    };
    let start = Instant::now();
    let mut outcome = run_all(&binaries, &cx);
    progress.finish();
    mark_grown(&mut outcome, &ws.root, &ws.target_dir);
    if let Some(signal) = interrupt::signal() {
        // A partial report must not pass for a whole one.
        return Err(Error::Interrupted { signal });
    }
    let elapsed = start.elapsed();

    let mode = settings.snapshot_mode;
    let filtered = settings.filtered();
    let accepted = match mode {
        SnapshotMode::Accept => {
            let all = accepted::accept_all(&accepted, &outcome, filtered);
            if all != accepted {
                accepted::write(&ws.root, &all)?;
            }
            all
        }
        _ => accepted,
    };
    let applied = accepted::apply(&accepted, &mut outcome, filtered);
    let removed = match mode {
        SnapshotMode::Accept => remove_stale_snapshots(&outcome, &ws.root, &ws.target_dir)?,
        _ => Vec::new(),
    };

    let style = Style {
        paint,
        verbosity: settings.verbosity,
        mode,
    };
    eprint!("{}", human::render(&outcome, style));
    // File, function and test names are the test's: inert, as in the report.
    for moved in &applied.moved {
        eprintln!("{}: {}", paint.dim("note"), terminal(moved));
    }
    for site in &applied.stale {
        eprintln!(
            "{}: {}",
            paint.warn("warning"),
            terminal(&accepted::stale_note(site))
        );
    }
    if settings.verbosity != Verbosity::Quiet
        && let Some(note) = doctest_note(&ws.doctests, &binaries)
    {
        eprintln!("{}: {}", paint.dim("note"), terminal(&note));
    }
    if settings.verbosity != Verbosity::Quiet
        && !build_settings.native
        && let Some(note) = native_note(&native_libs)
    {
        eprintln!("{}: {}", paint.dim("note"), terminal(&note));
    }
    if let Some(note) = frame_pointer_note(&outcome) {
        eprintln!("{}: {}", paint.dim("note"), terminal(&note));
    }
    for path in &removed {
        eprintln!(
            "{}: removed {}: --accept measured its leak test again",
            paint.dim("note"),
            terminal(&path.display().to_string())
        );
    }
    eprintln!("{}", ui::summary_line(&paint, elapsed, &outcome.summary()));
    publish(&outcome, &outputs, &ws.root)?;
    let code = no_tests(
        &outcome,
        settings.filter.as_deref(),
        settings.no_tests,
        paint,
        outcome.exit_code(),
    );
    if mode == SnapshotMode::Review {
        review::review(&ws.root, &ws.target_dir, &cargo, paint)?;
    }
    Ok(code)
}

/// What the report says when build scripts linked native code into the
/// tests and `--native` was not given: its allocations were not tracked.
fn native_note(libs: &[String]) -> Option<String> {
    const SHOWN: usize = 3;
    let (first, rest) = libs.split_at(libs.len().min(SHOWN));
    if first.is_empty() {
        return None;
    }
    let more = match rest.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "C and C++ allocations were not tracked (the tests link native code: {}{more}); \
         `cargo leakcheck --native` tracks them",
        first.join(", ")
    ))
}

/// What the report says, once for the run, of the shared libraries that
/// stacks ended in for want of frame pointers.
fn frame_pointer_note(outcome: &RunOutcome) -> Option<String> {
    let mut libraries: Vec<&str> = Vec::new();
    for library in outcome.binaries.iter().flat_map(|b| &b.no_frame_pointers) {
        if !libraries.contains(&library.as_str()) {
            libraries.push(library);
        }
    }
    let (last, rest) = libraries.split_last()?;
    let (names, verb) = match rest {
        [] => ((*last).to_owned(), "has"),
        _ => (format!("{} and {last}", rest.join(", ")), "have"),
    };
    Some(format!(
        "stacks end in {names}, which {verb} no frame pointers: the frames that called into \
         {} are not recorded (build {} with -fno-omit-frame-pointer)",
        if rest.is_empty() { "it" } else { "them" },
        if rest.is_empty() { "it" } else { "them" },
    ))
}

/// What the report says of the doctests of the packages that were run:
/// rustdoc builds them, so no binary of theirs was checked.
fn doctest_note(doctests: &[String], binaries: &[TestBinary]) -> Option<String> {
    let packages: Vec<&str> = doctests
        .iter()
        .map(String::as_str)
        .filter(|p| binaries.iter().any(|b| b.package == *p))
        .collect();
    let (last, rest) = packages.split_last()?;
    let names = match rest {
        [] => (*last).to_owned(),
        _ => format!("{} and {last}", rest.join(", ")),
    };
    Some(format!(
        "the doctests of {names} are not checked (rustdoc builds them; \
         `cargo test --doc` runs them)"
    ))
}

/// Tells a grown leak from a new one: a leak test that leaked past its
/// snapshot had one accepted. Each leak test with an accepted snapshot is
/// compared with it site by site, so that the report says which accepted
/// sites moved and, for a leak, what differs. A workspace that cannot be
/// searched has only new leaks.
fn mark_grown(outcome: &mut RunOutcome, root: &Path, target_dir: &Path) {
    use crate::outcome::LeakStatus;
    use leakcheck_format::accepted_leaks;
    let leaks = || {
        outcome
            .binaries
            .iter()
            .flat_map(|b| &b.leak_tests)
            .any(|t| matches!(t.status, LeakStatus::Leak | LeakStatus::Accepted))
    };
    if !leaks() {
        return;
    }
    let accepted = review::find_accepted(root, target_dir).unwrap_or_default();
    for t in outcome.binaries.iter_mut().flat_map(|b| &mut b.leak_tests) {
        if !matches!(t.status, LeakStatus::Leak | LeakStatus::Accepted) {
            continue;
        }
        let Some(path) = review::accepted_for(&accepted, &t.report.binary, &t.report.name) else {
            continue;
        };
        t.grown = t.status == LeakStatus::Leak;
        let Ok(file) = std::fs::read_to_string(path) else {
            continue;
        };
        let report = accepted_leaks::normalised(&t.report);
        let comparison = accepted_leaks::compare(accepted_leaks::snapshot_contents(&file), &report);
        t.snapshot = match t.status {
            LeakStatus::Leak => [comparison.changes, comparison.moved].concat(),
            _ => comparison.moved,
        };
    }
}

/// `--accept`: the `.snap.new` files left by an earlier `--review` for the
/// leak tests this run measured are stale (what it accepts is written to
/// the `.snap`, or matches it).
fn remove_stale_snapshots(
    outcome: &RunOutcome,
    root: &Path,
    target_dir: &Path,
) -> Result<Vec<std::path::PathBuf>, Error> {
    use crate::outcome::LeakStatus;
    let measured: Vec<&str> = outcome
        .binaries
        .iter()
        .flat_map(|b| &b.leak_tests)
        .filter(|t| {
            matches!(
                t.status,
                LeakStatus::Clean | LeakStatus::Accepted | LeakStatus::Leak
            )
        })
        .map(|t| t.report.name.as_str())
        .collect();
    review::remove_stale(root, target_dir, &measured)
        .map_err(|e| Error::Review(format!("removing stale .snap.new files: {e}")))
}

/// Lists every binary's tests, then runs every binary's session, then
/// every leak test alone, `-j` processes at once; the outcome is in the
/// binaries' order and each binary's leak tests in its session's order,
/// whatever order they finished in.
///
/// The lists come first, so the run's total is known before any test
/// runs: the opening line says it, and the progress bar counts to it.
fn run_all(binaries: &[TestBinary], cx: &RunContext<'_>) -> RunOutcome {
    let jobs = cx.settings.jobs;
    let listings: Vec<Option<Listing>> = pool::map(jobs, binaries, |bin| {
        interrupt::signal().is_none().then(|| list(bin, cx))
    });
    if interrupt::signal().is_some() {
        return RunOutcome::default();
    }
    let listed: Vec<(&TestBinary, Listing)> = binaries
        .iter()
        .zip(listings)
        .filter_map(|(bin, l)| Some((bin, l?)))
        .collect();
    let total = listed.iter().map(|(_, l)| l.count()).sum();
    cx.progress.set_total(total);
    cx.progress
        .eprintln(&ui::starting_line(&cx.paint, total, binaries.len()));
    let sessions: Vec<Option<SessionRun>> = pool::map(jobs, &listed, |(bin, listing)| {
        interrupt::signal()
            .is_none()
            .then(|| run_session(bin, listing, cx))
    });
    let leak_tests: Vec<(usize, String)> = sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.as_ref()?)))
        .flat_map(|(i, s)| s.leak_tests.iter().map(move |name| (i, name.clone())))
        .collect();
    let measured: Vec<Option<LeakTestOutcome>> = pool::map(jobs, &leak_tests, |(i, name)| {
        let i = *i;
        let session = sessions[i].as_ref()?;
        interrupt::signal()
            .is_none()
            .then(|| run_leak_test(listed[i].0, name, session, cx))
    });
    let mut outcomes: Vec<Option<BinaryOutcome>> =
        sessions.into_iter().map(|s| s.map(|s| s.outcome)).collect();
    for ((i, _), test) in leak_tests.into_iter().zip(measured) {
        if let (Some(outcome), Some(test)) = (&mut outcomes[i], test) {
            outcome.leak_tests.push(test);
        }
    }
    RunOutcome {
        binaries: outcomes.into_iter().flatten().collect(),
    }
}

/// Writes the report files and, under GitHub Actions, the annotations and
/// the step summary. One that cannot be written does not keep the others
/// from being written: each failure is printed, and the last is returned.
pub fn publish(outcome: &RunOutcome, outputs: &Outputs<'_>, root: &Path) -> Result<(), Error> {
    let mut failures: Vec<Error> = Vec::new();
    if let Some(path) = outputs.json
        && let Err(e) = json::write_run(outcome, outputs.partition, path)
    {
        failures.push(e);
    }
    if let Some(path) = outputs.junit
        && let Err(e) = file::write_atomic("JUnit report", path, &junit::render(outcome))
    {
        failures.push(e);
    }
    if let Some(path) = outputs.html
        && let Err(e) =
            file::write_atomic("HTML report", path, &Page::from_outcome(outcome).render())
    {
        failures.push(e);
    }
    if let Some(actions) = Actions::from_env(|k| std::env::var(k).ok()) {
        let json_on_stdout = outputs.json == Some(Path::new("-"));
        github_output(outcome, root, &actions, json_on_stdout);
    }
    let last = failures.pop();
    for e in failures {
        eprintln!("error: {e}");
    }
    last.map_or(Ok(()), Err)
}

/// `--no-tests`: a run that checked nothing fails with [`NO_TESTS`]
/// (the default), or passes with a warning or without a word. Prints what
/// it says; returns the exit code, from `code`, the findings' own.
///
/// [`NO_TESTS`]: crate::errors::exit_codes::NO_TESTS
pub fn no_tests(
    outcome: &RunOutcome,
    filter: Option<&str>,
    policy: NoTests,
    paint: Paint,
    code: i32,
) -> i32 {
    let Some(nothing) = outcome.nothing_checked(filter) else {
        return code;
    };
    match policy {
        NoTests::Pass => code,
        NoTests::Warn => {
            eprintln!("{}: {}", paint.warn("warning"), nothing.reason);
            code
        }
        NoTests::Fail => {
            eprintln!(
                "{}: {}; pass --no-tests=warn (or pass) if that is expected",
                paint.bad("error"),
                nothing.reason
            );
            exit_codes::worst(code, exit_codes::NO_TESTS)
        }
    }
}

/// Annotations and the step summary under GitHub Actions. A summary that
/// cannot be written is a warning: the findings stand.
fn github_output(outcome: &RunOutcome, root: &Path, actions: &Actions, json_on_stdout: bool) {
    let repo_root = actions.repo_root.as_deref().unwrap_or(root);
    let commands = github::annotations(outcome, root, repo_root);
    if json_on_stdout {
        eprint!("{commands}");
    } else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(commands.as_bytes())
            .and_then(|()| out.flush());
    }
    if let Some(path) = &actions.step_summary {
        let text = github::summary(outcome, github::SUMMARY_LIMIT);
        if let Err(e) = github::append_summary(path, &text) {
            eprintln!("warning: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_code_untracked_is_said_once_with_the_first_libraries() {
        assert_eq!(native_note(&[]), None);
        let mut outcome = RunOutcome::default();
        assert_eq!(frame_pointer_note(&outcome), None);
        for libraries in [vec!["libnofp.so"], vec!["libz.so.1", "libnofp.so"]] {
            outcome.binaries.push(BinaryOutcome {
                no_frame_pointers: libraries.into_iter().map(String::from).collect(),
                ..BinaryOutcome::default()
            });
        }
        assert_eq!(
            frame_pointer_note(&outcome).unwrap(),
            "stacks end in libnofp.so and libz.so.1, which have no frame pointers: the frames \
             that called into them are not recorded (build them with -fno-omit-frame-pointer)"
        );
        outcome.binaries.pop();
        assert!(
            frame_pointer_note(&outcome)
                .unwrap()
                .starts_with("stacks end in libnofp.so, which has no frame pointers: ")
        );
        assert_eq!(
            native_note(&["ffi: static=store".into()]).unwrap(),
            "C and C++ allocations were not tracked (the tests link native code: \
             ffi: static=store); `cargo leakcheck --native` tracks them"
        );
        let many: Vec<String> = (0..5).map(|i| format!("p{i}: z")).collect();
        assert!(
            native_note(&many)
                .unwrap()
                .contains("p0: z, p1: z, p2: z and 2 more)")
        );
    }

    #[test]
    fn doctests_of_the_packages_run_are_named_as_not_checked() {
        let bin = |package: &str| TestBinary {
            name: package.into(),
            path: package.into(),
            package: package.into(),
            package_root: package.into(),
            own_allocator: None,
            not_checked: None,
        };
        let doctests = ["api".to_owned(), "core".to_owned(), "util".to_owned()];
        assert_eq!(doctest_note(&doctests, &[bin("cli")]), None);
        assert_eq!(
            doctest_note(&doctests, &[bin("core")]).unwrap(),
            "the doctests of core are not checked (rustdoc builds them; \
             `cargo test --doc` runs them)"
        );
        let all = [bin("api"), bin("core"), bin("util"), bin("api")];
        assert!(
            doctest_note(&doctests, &all)
                .unwrap()
                .starts_with("the doctests of api, core and util are not checked")
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_report_that_cannot_be_written_does_not_keep_the_others_from_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("junit.xml");
        let html = dir.path().join("report.html");
        let outputs = Outputs {
            // Every write to /dev/full fails with ENOSPC, as on a full disk.
            json: Some(Path::new("/dev/full")),
            junit: Some(&junit),
            html: Some(&html),
            partition: None,
        };
        let err = publish(&RunOutcome::default(), &outputs, dir.path()).unwrap_err();
        assert_eq!(err.process_exit_code(), exit_codes::USAGE);
        assert!(
            err.to_string()
                .starts_with("failed to write the JSON report to `/dev/full`: "),
            "{err}"
        );
        assert!(junit.is_file() && html.is_file());
    }

    #[test]
    fn two_reports_on_one_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.out");
        let dotted = dir.path().join(".").join("r.out");
        let outputs = Outputs {
            json: Some(&path),
            junit: None,
            html: Some(&dotted),
            partition: None,
        };
        let err = outputs.check_writable().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "--json and --html name the same file `{}`: each report needs a file of its own",
                dotted.display()
            )
        );
        let stdout = Outputs {
            json: Some(Path::new("-")),
            junit: Some(&path),
            html: None,
            partition: None,
        };
        assert!(stdout.check_writable().is_ok());
    }
}
