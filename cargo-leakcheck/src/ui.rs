//! Terminal output: colours, verbosity, and the progress bar.

use std::io::IsTerminal;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{ColorChoice, Verbosity};
use crate::outcome::Summary;
use crate::render::neutralise;

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
/// with `NO_COLOR`, `CLICOLOR_FORCE` and `TERM` read from the environment.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    decide_color(
        choice,
        AutoColor {
            is_terminal,
            no_color: anstyle_query::no_color(),
            clicolor_force: anstyle_query::clicolor_force(),
            term_dumb: std::env::var_os("TERM").is_some_and(|t| t == "dumb"),
        },
    )
}

/// What `--color auto` looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoColor {
    /// The stream is a terminal.
    pub is_terminal: bool,
    /// `NO_COLOR` is set (and not empty).
    pub no_color: bool,
    /// `CLICOLOR_FORCE` is set (and not `0`).
    pub clicolor_force: bool,
    /// `TERM=dumb`: a terminal without escape sequences (Emacs' shell).
    pub term_dumb: bool,
}

/// `always` and `never` (from `--color` or `CARGO_TERM_COLOR`) are final;
/// `auto` colours a terminal unless `NO_COLOR` is set or `TERM` is `dumb`,
/// and colours anything under `CLICOLOR_FORCE` (`NO_COLOR` wins over both),
/// as anstream does.
pub fn decide_color(choice: ColorChoice, auto: AutoColor) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !auto.no_color && ((auto.is_terminal && !auto.term_dumb) || auto.clicolor_force)
        }
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

    /// Whether it styles.
    pub fn is_on(self) -> bool {
        self.on
    }

    fn wrap(self, style: Style, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// Bold red: leaks and failures.
    pub fn bad(self, text: &str) -> String {
        self.wrap(AnsiColor::Red.on_default().bold(), text)
    }

    /// Bold yellow: faults and growth.
    pub fn warn(self, text: &str) -> String {
        self.wrap(AnsiColor::Yellow.on_default().bold(), text)
    }

    /// Green: clean.
    pub fn good(self, text: &str) -> String {
        self.wrap(AnsiColor::Green.on_default(), text)
    }

    /// Bold: headings.
    pub fn bold(self, text: &str) -> String {
        self.wrap(Style::new().bold(), text)
    }

    /// Dim: secondary details.
    pub fn dim(self, text: &str) -> String {
        self.wrap(Style::new().dimmed(), text)
    }
}

/// How a test process ended, as its streamed line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A clean leak test, or a session where nothing grew and all passed.
    Pass,
    /// A leak test whose leak matches its accepted snapshot.
    Accepted,
    /// A new or grown leak.
    Leak,
    /// Session growth.
    Growth,
    /// A failing test.
    Fail,
    /// Crashed, timed out, or could not be measured.
    Fault,
}

/// One finished process, as nextest prints it:
/// `        PASS [   0.512s] server::api handles_requests`. The test's
/// name is the binary's, made inert ([`neutralise::terminal`]).
pub fn status_line(
    paint: &Paint,
    status: Status,
    took: Duration,
    binary: &str,
    test: &str,
) -> String {
    let (word, style): (&str, fn(Paint, &str) -> String) = match status {
        Status::Pass => ("PASS", Paint::good),
        Status::Accepted => ("ACCEPTED", Paint::good),
        Status::Leak => ("LEAK", Paint::bad),
        Status::Growth => ("GROWTH", Paint::bad),
        Status::Fail => ("FAIL", Paint::bad),
        Status::Fault => ("FAULT", Paint::warn),
    };
    format!(
        "{} [{:>8.3}s] {} {}",
        style(*paint, &format!("{word:>12}")),
        took.as_secs_f64(),
        paint.bold(&neutralise::terminal(binary)),
        neutralise::terminal(test)
    )
}

/// The run's first line, before any status line, as nextest prints it:
/// `    Starting 1080 tests across 14 binaries`.
pub fn starting_line(paint: &Paint, tests: usize, binaries: usize) -> String {
    format!(
        "{} {} across {}",
        paint.bold(&format!("{:>12}", "Starting")),
        plural(tests, "test", "tests"),
        plural(binaries, "binary", "binaries"),
    )
}

/// `n` and the word for `n` of something.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The run's last line: how long the tests took, and what ran.
pub fn summary_line(paint: &Paint, took: Duration, s: &Summary) -> String {
    // As nextest, skipped tests are named only when there are some.
    let skipped = match s.tests_skipped {
        0 => String::new(),
        n => format!(", {n} skipped"),
    };
    format!(
        "{} [{:>8.3}s] {} run: {} passed, {} failed{skipped}; {} measured alone; {}",
        paint.bold(&format!("{:>12}", "Summary")),
        took.as_secs_f64(),
        plural(s.tests_run, "test", "tests"),
        s.tests_passed,
        s.tests_run - s.tests_passed.min(s.tests_run),
        plural(s.leak_tests, "leak test", "leak tests"),
        plural(s.binaries, "binary", "binaries"),
    )
}

/// The progress bar over the run's tests (or nothing), and the lines of
/// the finished processes.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// A bar when `enabled`, else a no-op; coloured as `paint` colours.
    pub fn new(enabled: bool, paint: Paint) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(bar_template(paint))
                .expect("the template is valid")
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix("Leakcheck");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar, quiet: false }
    }

    /// Only the lines of processes that did not pass (`-q`).
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// A progress bar that draws nothing and prints no lines.
    #[cfg(test)]
    pub fn hidden() -> Self {
        Self {
            bar: None,
            quiet: true,
        }
    }

    /// The run's total: the tests its binaries listed.
    pub fn set_total(&self, tests: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(tests as u64);
        }
    }

    /// Starting a process described by `what`.
    pub fn start(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(neutralise::terminal(what));
        }
    }

    /// A process finished, having run `tests` of the run's tests (the bar
    /// advances by them): its line (see [`status_line`]) goes above the
    /// bar, or straight to stderr without one (under CI the lines are the
    /// log's progress). `-q` keeps only what did not pass.
    pub fn finished(
        &self,
        paint: &Paint,
        status: Status,
        took: Duration,
        binary: &str,
        test: &str,
        tests: usize,
    ) {
        if let Some(bar) = &self.bar {
            bar.inc(tests as u64);
        }
        if self.quiet && matches!(status, Status::Pass | Status::Accepted) {
            return;
        }
        self.eprintln(&status_line(paint, status, took, binary, test));
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

/// The bar's template: its prefix coloured only when the report is
/// (indicatif decides on its own otherwise, and would colour under
/// `--color never`).
fn bar_template(paint: Paint) -> &'static str {
    if paint.is_on() {
        "{prefix:>12.cyan.bold} [{bar:25}] {pos}/{len} {wide_msg}"
    } else {
        "{prefix:>12} [{bar:25}] {pos}/{len} {wide_msg}"
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
        assert!(decide_color(Auto, env(true, false, false, false)));
        assert!(!decide_color(Auto, env(false, false, false, false)));
        assert!(decide_color(Always, env(false, false, false, false)));
    }

    /// `--color auto`'s inputs: a terminal, `NO_COLOR`, `CLICOLOR_FORCE`,
    /// `TERM=dumb`.
    fn env(is_terminal: bool, no_color: bool, clicolor_force: bool, term_dumb: bool) -> AutoColor {
        AutoColor {
            is_terminal,
            no_color,
            clicolor_force,
            term_dumb,
        }
    }

    #[test]
    fn no_color_and_clicolor_force_decide_auto() {
        use ColorChoice::*;
        assert!(
            !decide_color(Auto, env(true, true, false, false)),
            "NO_COLOR"
        );
        assert!(
            decide_color(Auto, env(false, false, true, false)),
            "CLICOLOR_FORCE"
        );
        assert!(
            !decide_color(Auto, env(false, true, true, false)),
            "NO_COLOR wins"
        );
        // An explicit choice is final.
        assert!(decide_color(Always, env(false, true, false, true)));
        assert!(!decide_color(Never, env(true, false, true, false)));
    }

    #[test]
    fn a_dumb_terminal_gets_no_colour_unless_asked() {
        use ColorChoice::*;
        assert!(
            !decide_color(Auto, env(true, false, false, true)),
            "TERM=dumb"
        );
        assert!(
            decide_color(Auto, env(true, false, true, true)),
            "CLICOLOR_FORCE"
        );
        assert!(
            decide_color(Always, env(true, false, false, true)),
            "--color always"
        );
    }

    #[test]
    fn the_bar_is_coloured_only_with_the_report() {
        assert!(!bar_template(Paint::new(false)).contains(".cyan"));
        assert!(bar_template(Paint::new(true)).contains(".cyan"));
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
    fn status_lines_read_as_nextest_s() {
        let paint = Paint::new(false);
        let took = Duration::from_millis(512);
        assert_eq!(
            status_line(&paint, Status::Pass, took, "suite", "handles_requests"),
            "        PASS [   0.512s] suite handles_requests"
        );
        assert_eq!(
            status_line(
                &paint,
                Status::Growth,
                Duration::from_secs(12),
                "a::bin/x",
                "(session)"
            ),
            "      GROWTH [  12.000s] a::bin/x (session)"
        );
    }

    #[test]
    fn the_starting_line_reads_as_nextest_s() {
        let paint = Paint::new(false);
        assert_eq!(
            starting_line(&paint, 1080, 14),
            "    Starting 1080 tests across 14 binaries"
        );
        assert_eq!(
            starting_line(&paint, 1, 1),
            "    Starting 1 test across 1 binary"
        );
        assert_eq!(
            starting_line(&paint, 0, 2),
            "    Starting 0 tests across 2 binaries"
        );
    }

    #[test]
    fn summary_line_counts_tests_and_binaries() {
        let s = Summary {
            tests_run: 42,
            tests_passed: 41,
            leak_tests: 1,
            binaries: 3,
            ..Summary::default()
        };
        assert_eq!(
            summary_line(&Paint::new(false), Duration::from_millis(12345), &s),
            "     Summary [  12.345s] 42 tests run: 41 passed, 1 failed; 1 leak test measured alone; 3 binaries"
        );
        let skipped = Summary {
            tests_skipped: 2,
            ..s
        };
        assert_eq!(
            summary_line(&Paint::new(false), Duration::from_millis(12345), &skipped),
            "     Summary [  12.345s] 42 tests run: 41 passed, 1 failed, 2 skipped; 1 leak test measured alone; 3 binaries"
        );
    }

    #[test]
    fn paint_off_is_plain() {
        assert_eq!(Paint::new(false).bad("LEAK"), "LEAK");
        assert_eq!(Paint::new(true).bad("LEAK"), "\x1b[1m\x1b[31mLEAK\x1b[0m");
    }
}
