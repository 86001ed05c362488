//! Frames and call paths, as a report shows them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where a frame's code comes from; decides how it is shown and charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameKind {
    /// A file of the workspace under test (shown relative to its root).
    Workspace,
    /// A crate from a registry or git checkout (shown as `name-version/...`).
    Registry,
    /// The Rust standard library or its own dependencies.
    Std,
    /// Anything else: an absolute path, or no debug info at all.
    Other,
}

/// One frame of a call path: a source line in a function.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Frame {
    /// The file, normalised (see [`FrameKind`]); `"<unknown>"` without debug info.
    pub file: String,
    /// The line, or 0 when unknown.
    pub line: u32,
    /// The demangled function path, without its hash.
    pub function: String,
    /// Where the code comes from.
    pub kind: FrameKind,
}

impl Frame {
    /// `true` for frames of the Rust standard library.
    pub fn is_std(&self) -> bool {
        self.kind == FrameKind::Std
    }

    /// `true` when the frame names a source file (not `<unknown>`).
    pub fn has_source(&self) -> bool {
        self.file != "<unknown>"
    }

    /// `true` when a block may be charged to this frame: code outside the
    /// standard library with a source file. C and C++ code is charged
    /// when it is the project's own or a crate's (`csrc/store.c`, a `-sys`
    /// crate's bundled sources: `malloc` calls that `--native` tracks),
    /// never a system library's (libc's `./nptl/pthread_create.c`, where
    /// its debug info is installed), which allocates for whoever called it.
    pub fn is_chargeable(&self) -> bool {
        let c = self.is_c_source();
        let own_c = matches!(self.kind, FrameKind::Workspace | FrameKind::Registry)
            && !self.file.starts_with("./")
            && !self.file.starts_with("../");
        !self.is_std() && self.has_source() && (!c || own_c)
    }

    /// `true` for a frame in a C, C++ or assembly source file.
    pub fn is_c_source(&self) -> bool {
        const C_SOURCES: [&str; 9] = [
            ".c", ".h", ".S", ".s", ".asm", ".cc", ".cpp", ".cxx", ".hpp",
        ];
        C_SOURCES.iter().any(|ext| self.file.ends_with(ext))
    }

    /// `true` when a block may be charged to this frame by its function
    /// alone: a frame without a source file (a build without line tables,
    /// such as `--release` without a `debug` setting) of a Rust function
    /// outside the standard library. A C symbol (`main`, `start_thread`,
    /// `<unknown in libc.so.6>`) is not a Rust path, so is never charged.
    pub fn is_chargeable_by_function(&self) -> bool {
        !self.is_std() && !self.has_source() && is_rust_path(&self.function)
    }
}

/// The path of a frame in the Rust toolchain or in a crate fetched by
/// cargo, as reports show it (`std:alloc/src/vec/mod.rs`, `lru-0.6.0/src/lib.rs`),
/// with its kind; `None` for any other path. `path` uses `/`. The rules
/// that leakcheck-rt's symboliser and the pprof reader share.
pub fn toolchain_or_registry(path: &str) -> Option<(String, FrameKind)> {
    let after = |marker: &str| path.find(marker).map(|i| &path[i + marker.len()..]);
    if let Some(rest) = after("/rust/deps/") {
        return Some((format!("std:deps/{rest}"), FrameKind::Std));
    }
    if path.starts_with("/rustc/") {
        return Some(match after("/library/") {
            Some(rest) => (format!("std:{rest}"), FrameKind::Std),
            None => (path.to_owned(), FrameKind::Std),
        });
    }
    if let Some(rest) = after("/registry/src/") {
        // Skip the index directory: `index.crates.io-<hash>/name-1.2.3/src/lib.rs`.
        let crate_path = rest.split_once('/').map_or(rest, |(_, p)| p);
        return Some((crate_path.to_owned(), FrameKind::Registry));
    }
    if let Some(rest) = after("/git/checkouts/") {
        return Some((rest.to_owned(), FrameKind::Registry));
    }
    None
}

/// `true` for a demangled Rust function path (`service::handle`,
/// `<service::Pool>::query`), not a bare C symbol or an address.
fn is_rust_path(function: &str) -> bool {
    let f = function.trim_start_matches('<');
    f.contains("::")
        && f.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The call path of an allocation, oldest frame first (as tracemalloc's).
///
/// Frames of leakcheck itself and of the allocator entry points are never
/// part of it. Cloning is cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Traceback {
    frames: Arc<[Frame]>,
}

impl Traceback {
    /// A traceback of these frames, oldest first.
    pub fn new(frames: Vec<Frame>) -> Self {
        Self {
            frames: frames.into(),
        }
    }

    /// The frames, oldest first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// `true` when no frame is known.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The most recent frame (where the allocation happened, maybe in std).
    pub fn innermost(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// The frame an allocation is charged to: the most recent frame outside
    /// the Rust standard library that has a Rust source file, so
    /// `vec![0u8; 1024]` is charged to the line that wrote it, and a frame
    /// without debug info (libgcc's `_Unwind_Backtrace`, libc) is never
    /// charged. In a program without line tables, the most recent Rust
    /// function outside the standard library, named by its function path
    /// ([`Frame::is_chargeable_by_function`]). Falls back to the most
    /// recent frame with a source file, then to the most recent frame.
    pub fn charged_frame(&self) -> Option<&Frame> {
        let frames = || self.frames.iter().rev();
        frames()
            .find(|f| f.is_chargeable())
            .or_else(|| frames().find(|f| f.is_chargeable_by_function()))
            .or_else(|| frames().find(|f| f.has_source()))
            .or_else(|| self.innermost())
    }

    /// The lines of the call path, oldest first: `file:line in function`.
    pub fn format(&self) -> Vec<String> {
        self.frames
            .iter()
            .map(|f| format!("{}:{} in {}", f.file, f.line, f.function))
            .collect()
    }

    /// The lines a reader needs from frame `start` on: without frames of
    /// the standard library or without debug info.
    pub fn readable_from(&self, start: usize) -> Vec<String> {
        self.frames
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|f| f.kind != FrameKind::Std && f.line != 0)
            .map(|f| format!("{}:{} in {}", f.file, f.line, f.function))
            .collect()
    }

    /// This traceback cut to its `limit` most recent frames.
    pub fn truncated(&self, limit: usize) -> Traceback {
        if self.frames.len() <= limit {
            return self.clone();
        }
        Traceback::new(self.frames[self.frames.len() - limit..].to_vec())
    }

    /// This traceback cut to `limit` frames counted from the charged frame
    /// outwards: the standard library's frames between it and the
    /// allocation are kept and not counted, so a limit of 1 still names
    /// the line that allocated (as tracemalloc's `nframe = 1` does).
    pub fn cut_from_charged(&self, limit: usize) -> Traceback {
        let Some(charged) = self.charged_frame() else {
            return self.clone();
        };
        let at = self
            .frames
            .iter()
            .rposition(|f| std::ptr::eq(f, charged))
            .unwrap_or(self.frames.len() - 1);
        let start = (at + 1).saturating_sub(limit.max(1));
        if start == 0 {
            return self.clone();
        }
        Traceback::new(self.frames[start..].to_vec())
    }
}

impl fmt::Display for Traceback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.charged_frame() {
            Some(frame) => frame.fmt(f),
            None => f.write_str("<unknown>"),
        }
    }
}

impl<'a> IntoIterator for &'a Traceback {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(file: &str, line: u32, function: &str, kind: FrameKind) -> Frame {
        Frame {
            file: file.into(),
            line,
            function: function.into(),
            kind,
        }
    }

    #[test]
    fn the_cut_counts_from_the_charged_frame() {
        let tb = Traceback::new(vec![
            frame("src/main.rs", 1, "f", FrameKind::Workspace),
            frame("src/lib.rs", 1, "f", FrameKind::Workspace),
            frame("std:alloc/src/vec/mod.rs", 1, "f", FrameKind::Std),
            frame("std:alloc/src/raw_vec.rs", 1, "f", FrameKind::Std),
        ]);
        let one = tb.cut_from_charged(1);
        assert_eq!(one.len(), 3);
        assert_eq!(one.to_string(), "src/lib.rs:1");
        assert_eq!(tb.cut_from_charged(2), tb);
        assert_eq!(tb.cut_from_charged(25), tb);
        let all_std = Traceback::new(vec![frame("std:a.rs", 1, "f", FrameKind::Std)]);
        assert_eq!(all_std.cut_from_charged(1), all_std);
        assert!(Traceback::default().cut_from_charged(1).is_empty());
    }

    #[test]
    fn frames_without_a_rust_source_are_never_charged() {
        // A panic's backtrace printed under RUST_BACKTRACE=1: libgcc's
        // unwinder sits between std's frames.
        let tb = Traceback::new(vec![
            frame("tests/panics.rs", 5, "panics::p0", FrameKind::Workspace),
            frame(
                "std:std/src/panicking.rs",
                316,
                "std::panicking::default_hook",
                FrameKind::Std,
            ),
            frame("<unknown>", 0, "_Unwind_Backtrace", FrameKind::Other),
            frame(
                "std:std/src/sys/backtrace.rs",
                85,
                "std::sys::backtrace::_print_fmt",
                FrameKind::Std,
            ),
            frame(
                "<unknown>",
                0,
                "<alloc::raw_vec::RawVecInner>::finish_grow",
                FrameKind::Std,
            ),
        ]);
        assert_eq!(tb.charged_frame().unwrap().to_string(), "tests/panics.rs:5");
        // libc's own sources (when its debug info is installed) neither.
        let tb = Traceback::new(vec![
            frame("src/lib.rs", 3, "fixture::spawn", FrameKind::Workspace),
            frame(
                "./nptl/pthread_create.c",
                447,
                "start_thread",
                FrameKind::Workspace,
            ),
            frame(
                "std:std/src/thread/mod.rs",
                9,
                "std::thread::spawn",
                FrameKind::Std,
            ),
        ]);
        assert_eq!(tb.charged_frame().unwrap().to_string(), "src/lib.rs:3");
        // The project's own C (a `malloc` that `--native` tracked) and a
        // crate's bundled C are charged.
        let tb = Traceback::new(vec![
            frame("tests/leaks.rs", 8, "leaks::forgets", FrameKind::Workspace),
            frame(
                "src/lib.rs",
                13,
                "ffi::remember_leaky",
                FrameKind::Workspace,
            ),
            frame("csrc/store.c", 9, "store_leak", FrameKind::Workspace),
        ]);
        assert_eq!(tb.charged_frame().unwrap().to_string(), "csrc/store.c:9");
        let tb = Traceback::new(vec![
            frame("src/lib.rs", 2, "app::run", FrameKind::Workspace),
            frame(
                "libsqlite3-sys-0.30.1/sqlite3/sqlite3.c",
                27012,
                "sqlite3MemMalloc",
                FrameKind::Registry,
            ),
        ]);
        assert_eq!(
            tb.charged_frame().unwrap().to_string(),
            "libsqlite3-sys-0.30.1/sqlite3/sqlite3.c:27012"
        );
        // Only std: the innermost std frame that has a file.
        let tb = Traceback::new(vec![
            frame("<unknown>", 0, "_start", FrameKind::Other),
            frame(
                "std:std/src/rt.rs",
                205,
                "std::rt::lang_start",
                FrameKind::Std,
            ),
            frame("<unknown>", 0, "alloc::alloc::alloc", FrameKind::Std),
        ]);
        assert_eq!(
            tb.charged_frame().unwrap().to_string(),
            "std:std/src/rt.rs:205"
        );
        // A build without line tables: the innermost Rust function outside
        // std, by its name; C symbols and std are passed over.
        let tb = Traceback::new(vec![
            frame("<unknown>", 0, "<unknown in libc.so.6>", FrameKind::Other),
            frame("<unknown>", 0, "main", FrameKind::Other),
            frame(
                "<unknown>",
                0,
                "std::rt::lang_start_internal",
                FrameKind::Std,
            ),
            frame("<unknown>", 0, "dumping::main", FrameKind::Other),
            frame("<unknown>", 0, "service::handle", FrameKind::Other),
            frame(
                "<unknown>",
                0,
                "alloc::fmt::format::format_inner",
                FrameKind::Std,
            ),
        ]);
        assert_eq!(tb.charged_frame().unwrap().function, "service::handle");
        // A frame with a source file still comes first.
        let tb = Traceback::new(vec![
            frame("src/main.rs", 4, "app::main", FrameKind::Workspace),
            frame("<unknown>", 0, "nodebug::f", FrameKind::Other),
            frame("<unknown>", 0, "alloc::alloc::alloc", FrameKind::Std),
        ]);
        assert_eq!(tb.charged_frame().unwrap().to_string(), "src/main.rs:4");
        // Nothing with a file: the innermost frame.
        let tb = Traceback::new(vec![frame("<unknown>", 0, "a", FrameKind::Other)]);
        assert_eq!(tb.charged_frame().unwrap().function, "a");
        assert!(Traceback::default().charged_frame().is_none());
    }
}
