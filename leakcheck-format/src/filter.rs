//! Filters on traces by file name pattern and line (tracemalloc's `Filter`).

use glob::{MatchOptions, Pattern};

use crate::traceback::{Frame, Traceback};

/// Keeps or drops traces whose frames match a file name pattern.
///
/// Patterns are `fnmatch`-style (`*` also matches `/`) and are matched
/// against file names as reports show them: `src/lib.rs`,
/// `lru-0.6.0/src/lib.rs`, `std:alloc/src/vec/mod.rs`.
#[derive(Debug, Clone)]
pub struct Filter {
    inclusive: bool,
    pattern: Pattern,
    lineno: Option<u32>,
    all_frames: bool,
}

impl Filter {
    /// Keeps only traces that match `pattern` (if several inclusive filters
    /// are given, a trace must match one of them).
    ///
    /// # Panics
    ///
    /// If `pattern` is not a valid pattern.
    pub fn include(pattern: &str) -> Self {
        Self::new(true, pattern)
    }

    /// Drops traces that match `pattern`.
    ///
    /// # Panics
    ///
    /// If `pattern` is not a valid pattern.
    pub fn exclude(pattern: &str) -> Self {
        Self::new(false, pattern)
    }

    /// Like [`Filter::include`] or [`Filter::exclude`], but a bad pattern is
    /// an error rather than a panic.
    pub fn try_new(inclusive: bool, pattern: &str) -> Result<Self, glob::PatternError> {
        Ok(Self {
            inclusive,
            pattern: Pattern::new(pattern)?,
            lineno: None,
            all_frames: false,
        })
    }

    fn new(inclusive: bool, pattern: &str) -> Self {
        match Self::try_new(inclusive, pattern) {
            Ok(filter) => filter,
            Err(err) => panic!("invalid leakcheck filter pattern {pattern:?}: {err}"),
        }
    }

    /// Matches only this line of the matching files.
    pub fn lineno(mut self, line: u32) -> Self {
        self.lineno = Some(line);
        self
    }

    /// Matches against every frame of the call path, not only the frame the
    /// allocation is charged to.
    pub fn all_frames(mut self, all: bool) -> Self {
        self.all_frames = all;
        self
    }

    /// `true` for filters made by [`Filter::include`].
    pub fn is_inclusive(&self) -> bool {
        self.inclusive
    }

    fn matches_frame(&self, frame: &Frame) -> bool {
        let options = MatchOptions {
            case_sensitive: true,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        self.pattern.matches_with(&frame.file, options)
            && self.lineno.is_none_or(|l| l == frame.line)
    }

    fn matches(&self, traceback: &Traceback) -> bool {
        if self.all_frames {
            traceback.frames().iter().any(|f| self.matches_frame(f))
        } else {
            traceback
                .charged_frame()
                .is_some_and(|f| self.matches_frame(f))
        }
    }
}

/// `true` when `traceback` passes all `filters` (tracemalloc's rule: one
/// inclusive filter must match, if there are any; no exclusive one may).
pub fn passes(filters: &[Filter], traceback: &Traceback) -> bool {
    let mut any_inclusive = false;
    let mut included = false;
    for filter in filters {
        if filter.inclusive {
            any_inclusive = true;
            included |= filter.matches(traceback);
        } else if filter.matches(traceback) {
            return false;
        }
    }
    !any_inclusive || included
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traceback::FrameKind;

    fn tb(files: &[(&str, u32)]) -> Traceback {
        Traceback::new(
            files
                .iter()
                .map(|&(file, line)| Frame {
                    file: file.into(),
                    line,
                    function: String::new(),
                    kind: FrameKind::Workspace,
                })
                .collect(),
        )
    }

    #[test]
    fn star_crosses_directories() {
        let t = tb(&[("crate/tests/it.rs", 3)]);
        assert!(!passes(&[Filter::exclude("*/tests/*")], &t));
        assert!(passes(&[Filter::exclude("src/*")], &t));
    }

    #[test]
    fn inclusive_filters_are_alternatives() {
        let t = tb(&[("src/a.rs", 1)]);
        assert!(passes(
            &[Filter::include("src/b.rs"), Filter::include("src/a.rs")],
            &t
        ));
        assert!(!passes(&[Filter::include("src/b.rs")], &t));
    }

    #[test]
    fn lineno_and_all_frames() {
        let t = tb(&[("src/main.rs", 7), ("src/a.rs", 1)]);
        assert!(passes(&[Filter::include("src/a.rs").lineno(1)], &t));
        assert!(!passes(&[Filter::include("src/a.rs").lineno(2)], &t));
        assert!(!passes(&[Filter::include("src/main.rs")], &t));
        assert!(passes(
            &[Filter::include("src/main.rs").all_frames(true)],
            &t
        ));
    }
}
