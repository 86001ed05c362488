//! A pprof location as leakcheck's frames: source paths shown as
//! leakcheck-rt shows them, and each frame's [`FrameKind`], so that a site
//! is charged to the innermost frame of the program's own code.
//!
//! Where the code comes from is told by the path alone (a profile does not
//! say which workspace it is of): Rust's standard library
//! (`/rustc/<hash>/library/...`), a registry or git crate, a relative path
//! (the workspace's), Go's standard library (under a `go` root's `src/`, or
//! a `runtime.` function), the allocator (jemalloc and its Rust wrapper,
//! `__rust_alloc`, `malloc`), or anything else as it is.

use crate::traceback::{Frame, FrameKind};

/// The frame of `function` at `file:line`; `file` as the profile names it.
pub(super) fn frame(function: &str, file: &str, line: i64) -> Frame {
    let function = without_hash(function).to_owned();
    let (file, mut kind) = if file.is_empty() || file == "<unknown>" {
        ("<unknown>".to_owned(), FrameKind::Other)
    } else {
        normalise(file)
    };
    if is_allocator(&function, &file) || is_go_runtime(&function, &file) {
        kind = FrameKind::Std;
    }
    Frame {
        file,
        line: u32::try_from(line).unwrap_or(0),
        function,
        kind,
    }
}

/// The frame of a location that only has an address (a profile that was
/// not symbolised, such as `jemalloc_pprof`'s without its `symbolize`
/// feature): `0x1d2f0 in service`, of no source file.
pub(super) fn address_frame(address: u64, object: &str) -> Frame {
    let object = object.rsplit('/').next().unwrap_or(object);
    let function = if object.is_empty() {
        format!("{address:#x}")
    } else {
        format!("{address:#x} in {object}")
    };
    Frame {
        file: "<unknown>".into(),
        line: 0,
        function,
        kind: FrameKind::Other,
    }
}

/// `service::handle` for `service::handle::h0123456789abcdef`.
fn without_hash(function: &str) -> &str {
    match function.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            path
        }
        _ => function,
    }
}

/// A source path as reports show it, and where its code comes from (the
/// rules of leakcheck-rt's symboliser, without its workspace root).
fn normalise(path: &str) -> (String, FrameKind) {
    let s = path.replace('\\', "/");
    // Already as leakcheck shows it (a profile leakcheck wrote).
    if s.starts_with("std:") {
        return (s, FrameKind::Std);
    }
    if is_crate_dir(s.split('/').next().unwrap_or_default()) {
        return (s, FrameKind::Registry);
    }
    if let Some(known) = crate::traceback::toolchain_or_registry(&s) {
        return known;
    }
    if is_go_std_file(&s) {
        return (s, FrameKind::Std);
    }
    if !s.starts_with('/') && !s.contains(":/") {
        return (s, FrameKind::Workspace);
    }
    (s, FrameKind::Other)
}

/// `serde-1.0.200`, as leakcheck shows a registry crate's directory.
fn is_crate_dir(dir: &str) -> bool {
    dir.rsplit_once('-').is_some_and(|(name, version)| {
        !name.is_empty()
            && version.split('.').count() >= 3
            && version.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// A file of Go's standard library: under a Go root's `src/`
/// (`/usr/local/go/src/...`, Debian's `/usr/lib/go-1.19/src/...`).
fn is_go_std_file(path: &str) -> bool {
    path.ends_with(".go")
        && path
            .split('/')
            .zip(path.split('/').skip(1))
            .any(|(root, src)| {
                src == "src"
                    && (root == "go"
                        || root == "goroot"
                        || root
                            .strip_prefix("go")
                            .map(|v| v.trim_start_matches('-'))
                            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())))
            })
}

/// Go's runtime, wherever its sources were.
fn is_go_runtime(function: &str, file: &str) -> bool {
    file.ends_with(".go") && function.starts_with("runtime.")
}

/// The allocator's own frames: jemalloc (its C sources, `_rjem_`/`je_`
/// symbols, tikv-jemallocator), Rust's allocation shims and libc's
/// `malloc` family. They allocate for their caller, as std does.
/// rustc names the shims `__rustc::__rust_alloc` and places them at the
/// `#[global_allocator]` static's line, in the program's own file: they are
/// told by their name.
fn is_allocator(function: &str, file: &str) -> bool {
    let function = function.strip_prefix("__rustc::").unwrap_or(function);
    const PREFIXES: [&str; 7] = [
        "_rjem_",
        "je_",
        "__rust_alloc",
        "__rust_realloc",
        "__rg_",
        "__rdl_",
        "<tikv_jemallocator::",
    ];
    const C_ALLOCATORS: [&str; 7] = [
        "malloc",
        "calloc",
        "realloc",
        "posix_memalign",
        "aligned_alloc",
        "memalign",
        "mallocx",
    ];
    PREFIXES.iter().any(|p| function.starts_with(p))
        || C_ALLOCATORS.contains(&function)
        || file.contains("tikv-jemalloc")
        || file.contains("jemalloc/src/")
}
