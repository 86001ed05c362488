//! Reading libtest's (and libtest-mimic's) output: how many tests ran,
//! which failed and why, panics, the test list, and its exit code.

/// libtest's (and libtest-mimic's) exit code when a test failed.
pub const TEST_FAILED_CODE: i32 = 101;

/// The arguments that make a test binary list its tests, one
/// `name: test` line each (read by [`test_list`]).
pub const LIST_ARGS: [&str; 3] = ["--list", "--format", "terse"];

/// The number of tests a `running N tests` line announces.
fn announced(line: &str) -> Option<u64> {
    let (n, word) = line.strip_prefix("running ")?.split_once(' ')?;
    let n = n.parse::<u64>().ok()?;
    (word == "test" || word == "tests").then_some(n)
}

/// `true` when the output announced that it runs exactly `n` tests.
pub fn announced_running(stdout: &str, n: u64) -> bool {
    stdout.lines().any(|l| announced(l) == Some(n))
}

/// `true` when libtest (or libtest-mimic) printed its closing summary.
pub fn finished_its_tests(stdout: &str) -> bool {
    stdout.lines().any(|l| l.starts_with("test result: "))
}

/// `true` when the output is libtest's (or libtest-mimic's): it announced
/// how many tests it runs, or closed with a summary. A `harness = false`
/// target with its own `main` prints neither.
pub fn speaks_libtest(stdout: &str) -> bool {
    finished_its_tests(stdout)
        || stdout
            .lines()
            .any(|l| announced(l).is_some() || (l.starts_with("test ") && l.contains(" ... ")))
}

/// The tests libtest (or libtest-mimic) reports as failed, in its order.
///
/// Uses the closing `failures:` list, which stays intact even when the
/// tests' own output (`--nocapture`) is interleaved with the progress
/// lines; falls back to `test NAME ... FAILED` lines.
pub fn failed_tests(stdout: &str) -> Vec<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    if let Some(last) = lines.iter().rposition(|l| l.trim_end() == "failures:") {
        let names: Vec<String> = lines[last + 1..]
            .iter()
            .skip_while(|l| l.trim().is_empty())
            .take_while(|l| l.starts_with("    ") && !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
            .collect();
        if !names.is_empty() {
            return names;
        }
    }
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect()
}

/// libtest's account of the failures (`---- name stdout ----` blocks), at
/// most 40 lines.
pub fn failures_section(stdout: &str) -> Option<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let first = lines.iter().position(|l| l.trim_end() == "failures:")?;
    let last = lines.iter().rposition(|l| l.trim_end() == "failures:")?;
    if last <= first {
        return None;
    }
    let body: Vec<&str> = lines[first + 1..last]
        .iter()
        .copied()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let text = body.join("\n").trim_end().to_owned();
    (!text.is_empty()).then(|| head(&text, 40))
}

/// The captured output of one failed test in libtest's account of the
/// failures: what follows its `---- NAME stdout ----` header, up to the
/// next test's header or the closing list.
pub fn failure_of<'a>(stdout: &'a str, test: &str) -> Option<&'a str> {
    let header = format!("---- {test} stdout ----");
    let start = stdout.find(&header)? + header.len();
    let rest = &stdout[start..];
    let end = rest
        .find("\n---- ")
        .or_else(|| rest.find("\nfailures:\n"))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The first panic in `output`, as `panicked at FILE:LINE:COL: MESSAGE`.
pub fn panic_message(output: &str) -> Option<String> {
    panic_messages(output).into_iter().next()
}

/// Every panic in `output`, in order.
pub fn panic_messages(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        let Some(at) = line.find("panicked at ") else {
            continue;
        };
        let rest = &line[at..];
        // Since Rust 1.73 the message is on the next line.
        if let Some(location) = rest.strip_suffix(':') {
            let message = lines.next().unwrap_or("").trim();
            found.push(format!("{location}: {message}"));
        } else {
            found.push(rest.to_owned());
        }
    }
    found
}

/// Test names from a run with [`LIST_ARGS`]: lines `name: test`.
pub fn test_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// The last `n` lines of `text`, without its leading and trailing blank
/// lines; `...` first when lines were left out.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .trim_end()
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(n);
    let mut out = lines[start..].join("\n");
    if start > 0 {
        out.insert_str(0, "...\n");
    }
    out
}

/// The first `n` lines of `text`.
fn head(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return text.to_owned();
    }
    format!("{}\n...", lines[..n].join("\n"))
}

/// The counts of a run's `test result:` lines (`ok. 3 passed; 1 failed;
/// 0 ignored; ...`), summed over every such line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultCounts {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that were ignored.
    pub ignored: usize,
    /// How many `test result:` lines there were.
    pub summaries: usize,
}

/// The counts of every `test result:` line of a run.
pub fn result_counts(stdout: &str) -> ResultCounts {
    let mut counts = ResultCounts::default();
    for line in stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: "))
    {
        counts.summaries += 1;
        for part in line.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(word), Some(Ok(n))) = (words.next(), words.next().map(str::parse::<usize>))
            else {
                continue;
            };
            match word {
                "passed" => counts.passed += n,
                "failed" => counts.failed += n,
                "ignored" => counts.ignored += n,
                _ => {}
            }
        }
    }
    counts
}

/// The counts of a run of the tests `listed` (as its `--list` named them).
///
/// A test's own output can hold lines that read as libtest's (a child
/// process writes past libtest's capture; a test may print anything), for
/// tests that do not exist, so only libtest's own lines count: its closing
/// `test result:` line, the last one (a test's output comes before it),
/// when it counts no more tests than were listed to run (or nothing was
/// listed: a runner of its own that lists nothing); else, when that
/// line is a test's and libtest's never came, the `test NAME ... RESULT`
/// lines of listed tests, each once. No `test result:` line at all counts
/// nothing, as [`result_counts`] does.
pub fn listed_counts(stdout: &str, listed: &[String]) -> ResultCounts {
    let summaries: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("test result: "))
        .collect();
    let Some(last) = summaries.last() else {
        return ResultCounts::default();
    };
    let closing = ResultCounts {
        summaries: summaries.len(),
        ..result_counts(last)
    };
    if listed.is_empty() || closing.passed + closing.failed <= listed.len() {
        return closing;
    }
    let mut results: Vec<(&str, &str)> = Vec::new();
    for (name, result) in stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.split_once(" ... "))
    {
        let name = name.strip_suffix(" - should panic").unwrap_or(name);
        if !listed.iter().any(|t| t == name) {
            continue;
        }
        match results.iter_mut().find(|(n, _)| *n == name) {
            Some(seen) => seen.1 = result,
            None => results.push((name, result)),
        }
    }
    let mut counts = ResultCounts {
        summaries: summaries.len(),
        ..ResultCounts::default()
    };
    for (_, result) in results {
        match result.split_whitespace().next() {
            Some("ok") => counts.passed += 1,
            Some("FAILED") => counts.failed += 1,
            Some("ignored") => counts.ignored += 1,
            _ => {}
        }
    }
    counts
}

/// The tests whose `test NAME ... RESULT` line a run printed, in that
/// order. On libtest's threads a test's line comes when it finishes; one
/// at a time, `test NAME ...` comes when it starts, and is counted too.
pub fn finished_tests(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.split_once(" ... "))
        .map(|(name, _)| name.strip_suffix(" - should panic").unwrap_or(name))
        .map(str::to_owned)
        .collect()
}

/// The tests a libtest run ran, from its `test NAME ... RESULT` lines, in
/// the order they finished (libtest's own order when they ran one at a
/// time); `None` when those lines do not account for every test its one
/// `test result:` line counts (`--quiet`, `--format json`, or a test's own
/// output in the way), so that the test list must say.
pub fn ran_tests(stdout: &str) -> Option<Vec<String>> {
    let names = finished_tests(stdout);
    let counts = result_counts(stdout);
    let counted = counts.passed + counts.failed + counts.ignored;
    (counts.summaries == 1 && names.len() == counted).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tests_a_run_ran_are_its_progress_lines_when_they_add_up() {
        let out = "\
running 4 tests
test a::first ... ok
test a::panics - should panic ... ok
test b ... ignored, slow
test c ... FAILED

failures:

---- c stdout ----
test inside c ... printed by the test

failures:
    c

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 3 filtered out; finished in 0.01s
";
        // The line a test printed makes five names for four tests.
        assert_eq!(ran_tests(out), None);
        let out = out.replace("test inside c ... printed by the test\n", "");
        assert_eq!(
            ran_tests(&out).unwrap(),
            ["a::first", "a::panics", "b", "c"]
        );
        // `--quiet`: dots, no names.
        let quiet = "running 2 tests\n..\ntest result: ok. 2 passed; 0 failed; 0 ignored\n";
        assert_eq!(ran_tests(quiet), None);
        // No summary (the run died): the names may be short of the tests.
        assert_eq!(ran_tests("running 2 tests\ntest a ... ok\n"), None);
        let none = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored\n";
        assert_eq!(ran_tests(none).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn lines_a_test_printed_count_no_test() {
        let listed = ["a".to_owned(), "b".to_owned()];
        let fake = "test ghost_one ... ok\ntest ghost_two ... ok\n\
                    test result: ok. 99 passed; 0 failed; 0 ignored\n";
        // libtest's own summary closes the run.
        let run = format!(
            "running 2 tests\n{fake}test a ... ok\ntest b ... FAILED\n\
             test result: FAILED. 1 passed; 1 failed; 2 ignored\n"
        );
        assert_eq!(
            listed_counts(&run, &listed),
            ResultCounts {
                passed: 1,
                failed: 1,
                ignored: 2,
                summaries: 2
            }
        );
        // The run died before its summary: the listed tests' lines, once.
        let died = format!("running 2 tests\ntest a ... ok\n{fake}test a ... ok\n");
        assert_eq!(
            listed_counts(&died, &listed),
            ResultCounts {
                passed: 1,
                failed: 0,
                ignored: 0,
                summaries: 1
            }
        );
        assert_eq!(
            listed_counts("running 2 tests\ntest a ... ok\n", &listed),
            ResultCounts::default()
        );
        // A runner that lists nothing is taken at its word.
        assert_eq!(listed_counts(&run, &[]).passed, 1);
    }

    #[test]
    fn result_counts_sum_every_summary_line() {
        let out = "test result: ok. 3 passed; 0 failed; 1 ignored\n\
                   test result: FAILED. 1 passed; 2 failed; 0 ignored\n";
        assert_eq!(
            result_counts(out),
            ResultCounts {
                passed: 4,
                failed: 2,
                ignored: 1,
                summaries: 2
            }
        );
        assert_eq!(result_counts("no summary"), ResultCounts::default());
    }

    const LIBTEST: &str = "
running 3 tests
test tests::a ... ok
test tests::b ... FAILED
test tests::c ... ok

failures:

---- tests::b stdout ----

thread 'tests::b' panicked at src/lib.rs:5:9:
boom
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::b

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

";

    #[test]
    fn failed_tests_come_from_the_closing_list() {
        assert_eq!(failed_tests(LIBTEST), ["tests::b"]);
    }

    #[test]
    fn interleaved_output_falls_back_to_result_lines() {
        let out = "test x ... FAILED\ntest y ... ok\ntest z ... FAILED\n";
        assert_eq!(failed_tests(out), ["x", "z"]);
        assert!(failed_tests("running 0 tests\n").is_empty());
    }

    #[test]
    fn failures_section_holds_the_messages() {
        let section = failures_section(LIBTEST).unwrap();
        assert!(
            section.starts_with("---- tests::b stdout ----"),
            "{section}"
        );
        assert!(section.contains("boom"), "{section}");
        assert!(!section.contains("test result"), "{section}");
    }

    #[test]
    fn one_failure_is_cut_at_the_closing_list() {
        let b = failure_of(LIBTEST, "tests::b").unwrap();
        assert!(b.contains("panicked at src/lib.rs:5:9:\nboom"), "{b}");
        assert!(!b.contains("failures:"), "{b}");
        assert_eq!(failure_of(LIBTEST, "tests::a"), None);
    }

    #[test]
    fn panics_old_and_new() {
        assert_eq!(
            panic_message(LIBTEST).unwrap(),
            "panicked at src/lib.rs:5:9: boom"
        );
        assert_eq!(
            panic_message("thread 'main' panicked at 'boom', src/lib.rs:5:9\n").unwrap(),
            "panicked at 'boom', src/lib.rs:5:9"
        );
        assert_eq!(panic_message("all fine\n"), None);
    }

    #[test]
    fn the_announced_count_is_read() {
        assert!(announced_running(LIBTEST, 3));
        assert!(!announced_running(LIBTEST, 1));
        assert!(announced_running("\nrunning 1 test\n", 1));
        assert!(!announced_running("running 10 tests\n", 1));
        assert!(announced_running("running 0 tests\n", 0));
    }

    #[test]
    fn libtest_output_is_recognised() {
        assert!(speaks_libtest("\nrunning 0 tests\n"));
        assert!(speaks_libtest("running 1 test\n"));
        assert!(speaks_libtest("test x ... FAILED\n"));
        assert!(speaks_libtest("test result: ok. 1 passed\n"));
        assert!(!speaks_libtest(
            "custom runner: running 3 checks\nall good\n"
        ));
        assert!(!speaks_libtest(""));
        assert!(finished_its_tests(LIBTEST));
        assert!(!finished_its_tests("running 1 test\ntest x ... ok\n"));
    }

    #[test]
    fn list_output_is_parsed() {
        let stdout = "tests::a: test\nb: test\nbench_x: bench\n\n";
        assert_eq!(test_list(stdout), ["tests::a", "b"]);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("a\nb\nc\n", 2), "...\nb\nc");
        assert_eq!(tail("\n\na\nb\n", 5), "a\nb");
        assert_eq!(tail("a\nb\nc", 2), "...\nb\nc");
        assert_eq!(tail("a\nb", 5), "a\nb");
    }
}
