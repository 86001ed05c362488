//! Terminal output: colours, verbosity, and the progress bar.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{ColorChoice, Verbosity};

/// The colour choice: `--color`, else `CARGO_TERM_COLOR` (as cargo
/// subcommands do), else auto. An unknown `CARGO_TERM_COLOR` counts as auto.
pub fn color_choice(flag: Option<ColorChoice>, env: Option<&str>) -> ColorChoice {
    flag.or_else(|| match env? {
        "always" => Some(ColorChoice::Always),
        "never" => Some(ColorChoice::Never),
        _ => None,
    })
    .unwrap_or(ColorChoice::Auto)
}

/// Whether to colour output to a stream that is (or is not) a terminal,
/// with `NO_COLOR` and `CLICOLOR_FORCE` read from the environment.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    decide_color(
        choice,
        is_terminal,
        anstyle_query::no_color(),
        anstyle_query::clicolor_force(),
    )
}

/// `always` and `never` (from `--color` or `CARGO_TERM_COLOR`) are final;
/// `auto` colours a terminal unless `NO_COLOR` is set, and colours anything
/// under `CLICOLOR_FORCE` (`NO_COLOR` wins over both), as anstream does.
pub fn decide_color(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: bool,
    clicolor_force: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && (is_terminal || clicolor_force),
    }
}

/// Whether to draw a progress bar: only on a terminal, never under CI (CI
/// logs keep every frame of it), never with `-q` or `-v` (where the test
/// output is shown).
pub fn show_progress(verbosity: Verbosity, stderr_is_terminal: bool, ci: bool) -> bool {
    verbosity == Verbosity::Normal && stderr_is_terminal && !ci
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Styling when `on`.
    pub fn new(on: bool) -> Self {
        Self { on }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold red: leaks and failures.
    pub fn bad(self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    /// Bold yellow: faults and growth.
    pub fn warn(self, text: &str) -> String {
        self.wrap("1;33", text)
    }

    /// Green: clean.
    pub fn good(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Bold: headings.
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Dim: secondary details.
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}

/// The progress bar over the test processes, or nothing.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar when `enabled`, else a no-op.
    pub fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix:>12.cyan.bold} [{bar:25}] {pos}/{len} {wide_msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix("Leakcheck");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar }
    }

    /// A progress bar that draws nothing.
    #[cfg(test)]
    pub fn hidden() -> Self {
        Self { bar: None }
    }

    /// `n` more processes to run.
    pub fn add(&self, n: usize) {
        if let Some(bar) = &self.bar {
            bar.inc_length(n as u64);
        }
    }

    /// Starting a process described by `what`.
    pub fn start(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_owned());
        }
    }

    /// A process finished.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Prints a line to stderr without tearing the bar.
    pub fn eprintln(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `true` when stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// `true` when stdin and stderr are terminals (a review can ask questions).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// `true` under CI (`CI` set to anything but `false`/`0`/empty).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_flag_beats_env_beats_auto() {
        use ColorChoice::*;
        assert_eq!(color_choice(Some(Never), Some("always")), Never);
        assert_eq!(color_choice(None, Some("always")), Always);
        assert_eq!(color_choice(None, Some("never")), Never);
        assert_eq!(color_choice(None, Some("bogus")), Auto);
        assert_eq!(color_choice(None, None), Auto);
        assert!(decide_color(Auto, true, false, false));
        assert!(!decide_color(Auto, false, false, false));
        assert!(decide_color(Always, false, false, false));
    }

    #[test]
    fn no_color_and_clicolor_force_decide_auto() {
        use ColorChoice::*;
        assert!(!decide_color(Auto, true, true, false), "NO_COLOR");
        assert!(decide_color(Auto, false, false, true), "CLICOLOR_FORCE");
        assert!(!decide_color(Auto, false, true, true), "NO_COLOR wins");
        // An explicit choice is final.
        assert!(decide_color(Always, false, true, false));
        assert!(!decide_color(Never, true, false, true));
    }

    #[test]
    fn progress_only_on_a_terminal_outside_ci() {
        assert!(show_progress(Verbosity::Normal, true, false));
        assert!(!show_progress(Verbosity::Normal, true, true));
        assert!(!show_progress(Verbosity::Normal, false, false));
        assert!(!show_progress(Verbosity::Quiet, true, false));
        assert!(!show_progress(Verbosity::Verbose, true, false));
    }

    #[test]
    fn paint_off_is_plain() {
        assert_eq!(Paint::new(false).bad("LEAK"), "LEAK");
        assert_eq!(Paint::new(true).bad("LEAK"), "\x1b[1;31mLEAK\x1b[0m");
    }
}
