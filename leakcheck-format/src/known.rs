//! Memory that is never a leak of the code under test, though it stays
//! live and piles up with the number of tests: the standard library's own
//! caches, and the bounded registries of test frameworks.
//!
//! `cargo leakcheck` leaves [std's caches](is_std_cache) out of every
//! judgement (session and leak tests), and lists the [known
//! registries](KNOWN_REGISTRIES) of a session apart, never as growth.

use crate::traceback::{Frame, FrameKind, Traceback};

/// `true` for memory of std's symbolisation cache: the debug info that a
/// panic message with `RUST_BACKTRACE=1`, or the formatting of a
/// `std::backtrace::Backtrace`, parses once per code address and keeps
/// for the life of the process (tens of MiB in a large test binary).
///
/// Decided by the innermost frame of std's backtrace machinery on the
/// stack, with only standard-library frames below it: inside the
/// symbolisation cache (`std::backtrace_rs::symbolize`, std's own `gimli`,
/// `addr2line`, `object`, `miniz_oxide`) it is the cache; inside
/// `std::backtrace` or the printing code it is data a `Backtrace` value or
/// the panic message owns, freed with it, and judged like any memory.
pub fn is_std_cache(traceback: &Traceback) -> bool {
    for frame in traceback.frames().iter().rev() {
        if frame.kind != FrameKind::Std {
            return false;
        }
        match machinery(frame) {
            Some(Machinery::Cache) => return true,
            Some(Machinery::Owner) => return false,
            None => {}
        }
    }
    false
}

/// The part of std's backtrace support a frame belongs to.
enum Machinery {
    /// The never-freed symbolisation cache.
    Cache,
    /// Capturing, resolving into a `Backtrace`, or printing.
    Owner,
}

fn machinery(frame: &Frame) -> Option<Machinery> {
    const CACHE_FUNCTIONS: [&str; 5] = [
        "std::backtrace_rs::symbolize::",
        "gimli::",
        "addr2line::",
        "object::",
        "miniz_oxide::",
    ];
    const CACHE_FILES: [&str; 4] = [
        "std:deps/gimli-",
        "std:deps/addr2line-",
        "std:deps/object-",
        "std:deps/miniz_oxide-",
    ];
    const OWNER_FUNCTIONS: [&str; 4] = [
        "std::backtrace::",
        "std::backtrace_rs::print",
        "std::backtrace_rs::backtrace::",
        "std::sys::backtrace::",
    ];
    let function = frame.function.trim_start_matches('<');
    if CACHE_FUNCTIONS.iter().any(|p| function.starts_with(p))
        || CACHE_FILES.iter().any(|p| frame.file.starts_with(p))
        || frame.file.contains("/backtrace/src/symbolize/")
    {
        return Some(Machinery::Cache);
    }
    if OWNER_FUNCTIONS.iter().any(|p| function.starts_with(p)) {
        return Some(Machinery::Owner);
    }
    None
}

/// A process-wide table of a test framework that gains one entry per
/// test (or per snapshot name) and is bounded by the size of the suite:
/// it piles up with the number of tests like session growth, but cannot
/// grow in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRegistry {
    /// Shown in reports.
    pub name: &'static str,
    /// The crate (as its registry directory is named, `insta-1.43.1`).
    pub krate: &'static str,
    /// Source files of the crate, relative to its root, that hold it.
    pub files: &'static [&'static str],
    /// Module paths whose functions fill it (for frames without a file).
    pub modules: &'static [&'static str],
}

/// The known registries, matched on the frame a site is charged to.
///
/// | crate | what | where |
/// | --- | --- | --- |
/// | `insta` | one entry per snapshot name and per inline snapshot for the whole process (`TEST_NAME_COUNTERS`, `TEST_NAME_CLASH_DETECTION`, `INLINE_DUPLICATES`), and one per workspace (`WORKSPACES`, `TOOL_CONFIGS`) | `src/runtime.rs`, `src/env.rs` |
pub const KNOWN_REGISTRIES: &[KnownRegistry] = &[KnownRegistry {
    name: "insta's process-wide registries (snapshot names, workspace settings)",
    krate: "insta",
    files: &["src/runtime.rs", "src/env.rs"],
    modules: &["insta::runtime::", "insta::env::"],
}];

/// The known registry that a site charged to `frame` belongs to.
pub fn known_registry(frame: &Frame) -> Option<&'static KnownRegistry> {
    KNOWN_REGISTRIES.iter().find(|r| holds(r, frame))
}

fn holds(registry: &KnownRegistry, frame: &Frame) -> bool {
    if frame.kind == FrameKind::Registry {
        // `insta-1.43.1/src/runtime.rs`, or a git checkout's
        // `insta-<hash>/<rev>/src/runtime.rs`.
        let Some((dir, rest)) = frame.file.split_once('/') else {
            return false;
        };
        let Some(version) = dir
            .strip_prefix(registry.krate)
            .and_then(|v| v.strip_prefix('-'))
        else {
            return false;
        };
        if version.is_empty() {
            return false;
        }
        return registry
            .files
            .iter()
            .any(|f| rest == *f || rest.split_once('/').is_some_and(|(_rev, path)| path == *f));
    }
    let function = frame.function.trim_start_matches('<');
    frame.file == "<unknown>" && registry.modules.iter().any(|m| function.starts_with(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(file: &str, function: &str, kind: FrameKind) -> Frame {
        Frame {
            file: file.into(),
            line: 1,
            function: function.into(),
            kind,
        }
    }

    fn std(file: &str, function: &str) -> Frame {
        frame(file, function, FrameKind::Std)
    }

    fn test_frame() -> Frame {
        frame("tests/panics.rs", "panics::p0", FrameKind::Workspace)
    }

    #[test]
    fn the_panic_hooks_symbolisation_cache_is_std_cache() {
        // As recorded under RUST_BACKTRACE=1 (outermost first).
        let tb = Traceback::new(vec![
            test_frame(),
            std("std:std/src/panicking.rs", "std::panicking::default_hook"),
            std(
                "std:std/src/sys/backtrace.rs",
                "std::sys::backtrace::_print_fmt",
            ),
            frame("<unknown>", "_Unwind_Backtrace", FrameKind::Other),
            std(
                "std:std/src/../../backtrace/src/symbolize/gimli.rs",
                "std::backtrace_rs::symbolize::gimli::resolve",
            ),
            std(
                "std:deps/addr2line-0.25.1/src/unit.rs",
                "<addr2line::unit::ResUnits<_>>::parse",
            ),
            std("<unknown>", "<gimli::read::abbrev::Abbreviations>::insert"),
            std("<unknown>", "<alloc::raw_vec::RawVecInner>::finish_grow"),
        ]);
        assert!(is_std_cache(&tb));
    }

    #[test]
    fn a_backtraces_own_symbols_and_user_memory_are_not() {
        // The names `Backtrace` copies out of the cache belong to it.
        let owned = Traceback::new(vec![
            test_frame(),
            std(
                "std:std/src/../../backtrace/src/symbolize/gimli.rs",
                "std::backtrace_rs::symbolize::gimli::resolve::{closure#1}",
            ),
            std(
                "std:std/src/backtrace.rs",
                "std::backtrace::helper::lazy_resolve::{closure#0}::{closure#0}",
            ),
            std("std:alloc/src/slice.rs", "<[u8]>::to_vec"),
        ]);
        assert!(!is_std_cache(&owned));
        // A user's line between the machinery and the allocation.
        let user = Traceback::new(vec![
            std(
                "std:std/src/../../backtrace/src/symbolize/gimli.rs",
                "std::backtrace_rs::symbolize::gimli::resolve",
            ),
            test_frame(),
            std("std:alloc/src/vec/mod.rs", "alloc::vec::from_elem"),
        ]);
        assert!(!is_std_cache(&user));
        assert!(!is_std_cache(&Traceback::new(vec![test_frame()])));
        // The user's own gimli (from a registry) is user memory.
        let theirs = Traceback::new(vec![frame(
            "gimli-0.31.1/src/read/abbrev.rs",
            "gimli::read::abbrev::Abbreviations::insert",
            FrameKind::Registry,
        )]);
        assert!(!is_std_cache(&theirs));
    }

    #[test]
    fn insta_registries_are_known_in_any_version() {
        let known = |file: &str, function: &str, kind| {
            known_registry(&frame(file, function, kind)).map(|r| r.krate)
        };
        let r = FrameKind::Registry;
        assert_eq!(
            known(
                "insta-1.43.1/src/runtime.rs",
                "insta::runtime::get_snapshot_filename",
                r
            ),
            Some("insta")
        );
        assert_eq!(
            known("insta-1.49.0/src/env.rs", "insta::env::get_tool_config", r),
            Some("insta")
        );
        assert_eq!(
            known("insta-0a1b2c3/4d5e6f7/src/runtime.rs", "x", r),
            Some("insta")
        );
        assert_eq!(
            known(
                "<unknown>",
                "insta::runtime::assert_snapshot",
                FrameKind::Other
            ),
            Some("insta")
        );
        // Other files of insta, other crates, and the user's own files.
        assert_eq!(known("insta-1.43.1/src/content/mod.rs", "x", r), None);
        assert_eq!(known("instant-0.1.12/src/runtime.rs", "x", r), None);
        assert_eq!(
            known(
                "src/runtime.rs",
                "insta::runtime::mine",
                FrameKind::Workspace
            ),
            None
        );
    }
}
