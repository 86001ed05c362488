//! One run of `cargo leakcheck`, from parsed options to an exit code.

use crate::accepted;
use crate::cargo::{self, build, workspace};
use crate::cli::{Opts, SnapshotMode};
use crate::errors::Error;
use crate::report::github::{self, Actions};
use crate::report::html::Page;
use crate::report::human::{self, Style};
use crate::report::outcome::RunOutcome;
use crate::report::{file, json, junit};
use crate::review;
use crate::run::{RunContext, check_binary, interrupt};
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

fn execute_uninterrupted(opts: &Opts) -> Result<i32, Error> {
    let verbosity = opts.verbosity();
    let mode = opts.snapshot_mode();
    let color = ui::color_choice(
        opts.output.color,
        std::env::var("CARGO_TERM_COLOR").ok().as_deref(),
    );
    let paint = Paint::new(ui::use_color(color, ui::stderr_is_terminal()));

    // Checks that cost nothing come before the build.
    if mode == SnapshotMode::Review && !ui::interactive() {
        return Err(Error::ReviewNeedsTerminal);
    }
    if let Some(path) = &opts.output.json {
        json::check_writable(path)?;
    }
    if let Some(path) = &opts.output.junit {
        file::check_writable("JUnit report", path)?;
    }
    if let Some(path) = &opts.output.html {
        file::check_writable("HTML report", path)?;
    }
    let cargo = cargo::cargo_program();
    let ws = workspace::load(&cargo, &opts.build)?;
    let accepted = accepted::load(&ws.root)?;
    let binaries = build::build(opts, &ws, &cargo, color)?;

    let progress = Progress::new(ui::show_progress(
        verbosity,
        ui::stderr_is_terminal(),
        ui::in_ci(),
    ));
    progress.add(binaries.len());
    let cx = RunContext {
        workspace_root: &ws.root,
        cargo: &cargo,
        filter: opts.filter.as_deref(),
        test_args: &opts.test_args,
        timeout: opts.run.timeout.0,
        snapshot_mode: mode,
        min_tests: opts.run.session_min_tests as usize,
        verbosity,
        progress: &progress,
    };
    let mut outcome = RunOutcome {
        binaries: binaries
            .iter()
            .map_while(|b| interrupt::signal().is_none().then(|| check_binary(b, &cx)))
            .collect(),
    };
    progress.finish();
    if let Some(signal) = interrupt::signal() {
        // A partial report must not pass for a whole one.
        return Err(Error::Interrupted { signal });
    }

    // A filtered run cannot tell a site that stopped growing from one
    // whose tests did not run.
    let filtered = opts.filter.is_some() || opts.test_args.iter().any(|a| a != "--include-ignored");
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
    let stale = accepted::apply(&accepted, &mut outcome, filtered);

    eprint!(
        "{}",
        human::render(
            &outcome,
            Style {
                paint,
                verbosity,
                mode,
            }
        )
    );
    for site in &stale {
        eprintln!("{}: {}", paint.warn("warning"), accepted::stale_note(site));
    }
    if let Some(path) = &opts.output.json {
        json::write(&outcome.to_report(), path)?;
    }
    if let Some(path) = &opts.output.junit {
        file::write_atomic("JUnit report", path, &junit::render(&outcome))?;
    }
    if let Some(path) = &opts.output.html {
        file::write_atomic("HTML report", path, &Page::from_outcome(&outcome).render())?;
    }
    if let Some(actions) = Actions::from_env(|k| std::env::var(k).ok()) {
        let json_on_stdout = opts.output.json.as_deref() == Some(std::path::Path::new("-"));
        github_output(&outcome, &ws.root, &actions, json_on_stdout);
    }
    let code = outcome.exit_code();
    if mode == SnapshotMode::Review {
        review::review(&ws.root, &ws.target_dir, &cargo, paint)?;
    }
    Ok(code)
}

/// Annotations and the step summary under GitHub Actions. A summary that
/// cannot be written is a warning: the findings stand.
fn github_output(
    outcome: &RunOutcome,
    root: &std::path::Path,
    actions: &Actions,
    json_on_stdout: bool,
) {
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
