//! From return addresses to frames a report can show: symbolisation (only
//! when a snapshot is taken, never inside `alloc`), path normalisation and
//! the removal of leakcheck's own frames.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::debuginfo::DebugInfo;
use crate::frame_cache::FrameCache;
use leakcheck_engine::{self as alloc, Guard};
use leakcheck_format::traceback::{Frame, FrameKind, Traceback};

/// Tracebacks by interned stack id, and frames by return address: both
/// stay valid for the life of the process. And the debug info read so far.
#[derive(Default)]
struct Cache {
    stacks: HashMap<u32, Traceback>,
    addresses: HashMap<usize, Arc<[Frame]>>,
    /// Whether a stack passes through Rust's global allocator, by id.
    rust: HashMap<u32, bool>,
    debug: DebugInfo,
    /// Frames named by earlier processes of this binary (`frame_cache.rs`).
    disk: FrameCache,
}

/// The frames at return address `ip`: from the process's cache, else from
/// the frames kept on disk, else named from the debug info (and kept in
/// both).
fn frames_at(cache: &mut Cache, ip: usize) -> Arc<[Frame]> {
    let Cache {
        addresses,
        debug,
        disk,
        ..
    } = cache;
    addresses
        .entry(ip)
        .or_insert_with(|| {
            let object = debug.object_of(ip.saturating_sub(1));
            let object = object.as_ref().map(|(path, bias)| (path.as_path(), *bias));
            disk.frames(object, ip, workspace_root(), || resolve(debug, ip))
        })
        .clone()
}

/// Writes the frames this process named for the next process of the same
/// binary (when `cargo leakcheck` gave a directory for them).
pub(crate) fn save_frames() {
    let _guard = Guard::enter();
    lock_cache().disk.save();
}

/// Set by [`only_rust_allocations`].
static RUST_ONLY: AtomicBool = AtomicBool::new(false);

/// From now on snapshots leave out the blocks that did not come through
/// Rust's global allocator: those C and C++ code allocated with `malloc`,
/// in a program whose every `malloc` is counted (`cargo leakcheck run`
/// without `--native`).
pub(crate) fn only_rust_allocations() {
    RUST_ONLY.store(true, Relaxed);
}

/// Drops from `traces` (after [`only_rust_allocations`]) the stacks whose
/// `malloc` was not called by Rust code. The allocator shims
/// (`__rust_alloc`, `__rdl_alloc`) tail-call `malloc` in an optimised
/// build, so the caller is told by the first frame above the tracker's
/// own: an allocator entry point, or Rust code (the standard library's
/// `RawVec`, or a `Box::new` inlined into the user's function): a Rust
/// source file, or without line tables a Rust function path. A C function
/// that allocates is a frame of its own, with a C source or a C symbol.
pub(crate) fn retain_rust_allocations(traces: &mut Vec<alloc::RawTrace>) {
    if !RUST_ONLY.load(Relaxed) {
        return;
    }
    let mut cache = lock_cache();
    let cache = &mut *cache;
    traces.retain(|t| {
        if t.stack == alloc::OVERFLOW_ID {
            return true;
        }
        if let Some(&rust) = cache.rust.get(&t.stack) {
            return rust;
        }
        let mut resolved = alloc::stack_frames(t.stack)
            .iter()
            .map(|&ip| frames_at(cache, ip));
        let caller = resolved.find(|at| {
            !at.iter()
                .all(|f| is_own(&f.function) || is_own_file(&f.file) || is_unwinder(f))
        });
        let rust = caller.is_some_and(|at| {
            at.iter().any(|f| {
                is_alloc_entry(&f.function)
                    || f.file.ends_with(".rs")
                    || f.is_std()
                    || f.is_chargeable_by_function()
            })
        });
        cache.rust.insert(t.stack, rust);
        rust
    });
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        alloc::at_fork(
            Some(lock_before_fork),
            Some(unlock_after_fork),
            Some(unlock_after_fork),
        );
        Mutex::default()
    })
}

fn lock_cache() -> MutexGuard<'static, Cache> {
    cache().lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The cache's lock, held by this thread across its `fork`.
    static HELD_ACROSS_FORK: RefCell<Option<MutexGuard<'static, Cache>>> =
        const { RefCell::new(None) };
}

/// Before `fork`: take the cache's lock (waiting for a snapshot that is
/// symbolising on another thread), so the child does not inherit it held
/// by a thread it does not have, and no thread of ours is inside the
/// `backtrace` crate, whose own lock the child would inherit too.
extern "C" fn lock_before_fork() {
    let guard = lock_cache();
    let _ = HELD_ACROSS_FORK.try_with(|held| {
        if let Ok(mut held) = held.try_borrow_mut() {
            *held = Some(guard);
        }
    });
}

/// After `fork`, in the parent and in the child: release the lock.
extern "C" fn unlock_after_fork() {
    let _ = HELD_ACROSS_FORK.try_with(|held| {
        if let Ok(mut held) = held.try_borrow_mut() {
            held.take();
        }
    });
}

/// The traceback of an interned stack, cut to the current frame limit.
pub(crate) fn traceback_of(stack: u32) -> Traceback {
    let _guard = Guard::enter();
    let mut cache = lock_cache();
    tracebacks(&mut cache, &[stack], alloc::traceback_limit()).remove(0)
}

/// Opens the executable's debug info (maps it, reads its aranges) by
/// resolving one address of this function, without symbolising any stack;
/// where that takes `backtrace` (no aranges), it loads the whole of it,
/// what the first symbolisation would otherwise spend most of its time on.
pub(crate) fn warm_up() {
    let _guard = Guard::enter();
    let mut cache = lock_cache();
    let here = warm_up as *const () as usize;
    if cache.debug.frames(here).is_none() {
        backtrace::resolve(here as *mut std::ffi::c_void, |_| {});
    }
}

/// Tracebacks of several stacks, cut to `limit` frames, in order.
pub(crate) fn tracebacks_of(stacks: &[u32], limit: usize) -> Vec<Traceback> {
    let mut cache = lock_cache();
    tracebacks(&mut cache, stacks, limit)
}

/// Calls `each` with the traceback of every stack in turn, cut to `limit`
/// frames, without keeping them: a stack symbolised before is taken from
/// the cache, any other is built from the cached frames of its addresses
/// and dropped after `each` saw it. For the snapshot written once at exit,
/// whose tracebacks, kept, would take far more memory than their file.
pub(crate) fn each_traceback(stacks: &[u32], limit: usize, mut each: impl FnMut(&Traceback)) {
    let mut cache = lock_cache();
    for &id in stacks {
        let full = match cache.stacks.get(&id) {
            Some(tb) => tb.clone(),
            None if id == alloc::OVERFLOW_ID => overflow_traceback(),
            None => build(&mut cache, alloc::stack_frames(id)),
        };
        each(&full.cut_from_charged(limit));
    }
}

fn tracebacks(cache: &mut Cache, stacks: &[u32], limit: usize) -> Vec<Traceback> {
    stacks
        .iter()
        .map(|&id| {
            let full = match cache.stacks.get(&id) {
                Some(tb) => tb.clone(),
                None if id == alloc::OVERFLOW_ID => overflow_traceback(),
                None => {
                    let tb = build(cache, alloc::stack_frames(id));
                    cache.stacks.insert(id, tb.clone());
                    tb
                }
            };
            full.cut_from_charged(limit)
        })
        .collect()
}

/// The pseudo-site of the blocks whose call stack did not fit in the
/// tracker's stack table, named so that no report mistakes it for a line.
pub(crate) const OVERFLOW_FILE: &str = "<leakcheck: stack table full>";

fn overflow_traceback() -> Traceback {
    Traceback::new(vec![Frame {
        file: OVERFLOW_FILE.into(),
        line: 0,
        function: format!(
            "<allocations from call stacks past the first {} distinct ones, not attributed>",
            alloc::STACK_CAPACITY
        ),
        kind: FrameKind::Other,
    }])
}

/// Frames of a raw stack (most recent first), oldest first, without the
/// tracker's frames.
fn build(cache: &mut Cache, raw: &[usize]) -> Traceback {
    if raw.is_empty() {
        return Traceback::new(vec![Frame {
            file: "<unknown>".into(),
            line: 0,
            function: "<stack not recorded>".into(),
            kind: FrameKind::Other,
        }]);
    }
    let resolved: Vec<Arc<[Frame]>> = raw.iter().map(|&ip| frames_at(cache, ip)).collect();
    note_walk_end(raw, &resolved);
    // Everything up to the allocation entry point is the tracker's: its
    // own frames, and with the DWARF unwinder that one's too (the
    // `backtrace` crate's `trace`, libgcc's `_Unwind_Backtrace`), which in
    // an optimised build carry bare names such as `trace`.
    // Without an entry point frame (inlined away, e.g. by fat LTO), the
    // leading frames of the tracker and of the unwinder are dropped.
    let user_from = resolved
        .iter()
        .rposition(|at| at.iter().any(|f| is_alloc_entry(&f.function)))
        .map(|i| i + 1)
        .unwrap_or_else(|| {
            resolved
                .iter()
                .take_while(|at| {
                    at.iter()
                        .all(|f| is_own(&f.function) || is_own_file(&f.file) || is_unwinder(f))
                })
                .count()
        });
    let mut frames: Vec<Frame> = resolved[user_from..]
        .iter()
        .flat_map(|at| at.iter())
        .filter(|f| !is_own(&f.function) && !is_own_file(&f.file))
        .cloned()
        .collect();
    frames.reverse();
    Traceback::new(frames)
}

/// Says once per library on stderr (the line `cargo leakcheck` reads back)
/// when the walk of `raw` ended early in a library other than the C
/// library and the loader, whose frames end every thread's stack: code
/// built without frame pointers keeps something else in the register, so
/// the walk stops in it and the frames that called into it are missing.
fn note_walk_end(raw: &[usize], resolved: &[Arc<[Frame]>]) {
    /// The last addresses looked at, and the libraries named.
    type Seen = (Option<std::collections::HashSet<usize>>, Vec<String>);
    static SEEN: Mutex<Seen> = Mutex::new((None, Vec::new()));
    let (Some(&last), Some(frames)) = (raw.last(), resolved.last()) else {
        return;
    };
    if raw.len() >= alloc::walk_depth() {
        return;
    }
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let (addresses, named) = &mut *seen;
    // Most stacks end at one of a few addresses (the threads' starts).
    if !addresses.get_or_insert_with(Default::default).insert(last) {
        return;
    }
    let Some(library) = object_name(last.saturating_sub(1)) else {
        return;
    };
    if library.starts_with("libc.so") || library.starts_with("ld-linux") || named.contains(&library)
    {
        return;
    }
    let function = frames.first().map_or("?", |f| f.function.as_str());
    eprintln!(
        "{}",
        leakcheck_format::protocol::messages::stacks_end_in(&library, function)
    );
    named.push(library);
}

/// The file name of the shared library `ip` is in; `None` for the
/// executable and for an address in no object.
fn object_name(ip: usize) -> Option<String> {
    if let Some(system) = alloc::system_frame(ip) {
        return Some(system.library);
    }
    let objects = alloc::loaded_objects();
    let (index, object) = objects.iter().enumerate().find(|(_, o)| {
        o.code
            .iter()
            .any(|&(start, end)| (start..end).contains(&ip))
    })?;
    (index > 0).then(|| {
        object.path.file_name().map_or_else(
            || object.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    })
}

/// `true` for the global allocator's entry points, below which a raw stack
/// holds only the tracker's frames: the shims rustc generates and the
/// tracking allocator's own `GlobalAlloc` methods.
fn is_alloc_entry(function: &str) -> bool {
    let f = function.trim_start_matches('<');
    let f = f.strip_prefix("__rustc::").unwrap_or(f);
    f.starts_with("__rust_alloc")
        || f.starts_with("__rust_realloc")
        || f.starts_with("__rg_alloc")
        || f.starts_with("__rg_realloc")
        || (is_own_crate_path(f) && f.contains("as core::alloc::global::GlobalAlloc>::"))
}

/// Frames at one return address, innermost (inlined) first.
fn resolve(debug: &mut DebugInfo, ip: usize) -> Arc<[Frame]> {
    // The C library's frames (`__libc_start_main`, `start_thread`) close
    // every stack. They are never charged, so their names from the symbol
    // table do; their debug info, where installed, is not read.
    if let Some(system) = alloc::system_frame(ip.saturating_sub(1)) {
        return Arc::new([Frame {
            file: "<unknown>".into(),
            line: 0,
            function: system
                .symbol
                .unwrap_or_else(|| format!("<unknown in {}>", system.library)),
            kind: FrameKind::Other,
        }]);
    }
    // A return address points after the call; look up the call itself.
    let mut out = resolve_call(debug, ip.saturating_sub(1));
    if out.is_empty() {
        out.push(Frame {
            file: "<unknown>".into(),
            line: 0,
            function: format!("<unknown at {ip:#x}>"),
            kind: FrameKind::Other,
        });
    }
    out.into()
}

/// Frames at a code address: from the debug info of its compile unit,
/// else from `backtrace`, which reads the whole of the object's.
fn resolve_call(debug: &mut DebugInfo, addr: usize) -> Vec<Frame> {
    if let Some(frames) = debug.frames(addr) {
        return frames
            .iter()
            .map(|f| {
                frame(
                    Some(backtrace::SymbolName::new(f.name)),
                    f.file.as_deref().map(Path::new),
                    f.line,
                )
            })
            .collect();
    }
    resolve_with_backtrace(addr)
}

/// Frames at a code address as `backtrace::resolve` gives them. It takes
/// return addresses and looks up the byte before the one it is given, so
/// it is given the byte after `addr`: both readers look up the same byte.
fn resolve_with_backtrace(addr: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    backtrace::resolve(addr.wrapping_add(1) as *mut std::ffi::c_void, |symbol| {
        out.push(frame(symbol.name(), symbol.filename(), symbol.lineno()));
    });
    out
}

fn frame(name: Option<backtrace::SymbolName<'_>>, file: Option<&Path>, line: Option<u32>) -> Frame {
    let function = name
        .map(|n| format!("{n:#}"))
        .unwrap_or_else(|| "<unknown>".into());
    let (file, kind) = match file {
        Some(path) => normalise(path),
        // Some std code comes without line tables; its name still says std.
        None if is_std_function(&function) => ("<unknown>".into(), FrameKind::Std),
        None => ("<unknown>".into(), FrameKind::Other),
    };
    Frame {
        file,
        line: line.unwrap_or(0),
        function,
        kind,
    }
}

/// `true` for functions of the standard library and of std's own
/// dependencies (its hashbrown, and the symbolisation crates behind panic
/// backtraces), used when a frame has no line tables: the function path's
/// crate decides (`alloc::`, never a user crate `alloc_x::`). A trait
/// method `<Type as Trait>::f` is std's only when both are (the orphan
/// rule puts `impl service::Encode for Vec<u8>` in the user's crate).
fn is_std_function(function: &str) -> bool {
    match split_impl(function) {
        Some((self_type, Some(trait_path))) => is_std_path(self_type) && is_std_path(trait_path),
        Some((self_type, None)) => is_std_path(self_type),
        None => is_std_path(function),
    }
}

/// `<Type as Trait>::f` as `(Type, Some(Trait))`, `<Type>::f` as
/// `(Type, None)`; `None` for a plain path.
fn split_impl(function: &str) -> Option<(&str, Option<&str>)> {
    let inner = function.strip_prefix('<')?;
    let mut depth = 0usize;
    let mut as_at = None;
    for (i, c) in inner.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => {
                let self_type = &inner[..as_at.unwrap_or(i)];
                let trait_path = as_at.map(|a| &inner[a + " as ".len()..i]);
                return Some((self_type, trait_path));
            }
            '>' => depth -= 1,
            ' ' if depth == 0 && as_at.is_none() && inner[i..].starts_with(" as ") => {
                as_at = Some(i);
            }
            _ => {}
        }
    }
    None
}

/// `true` when a path (or the type it names, behind `&`, `*const`, `[`,
/// `dyn` and the like) is in the standard library or its dependencies.
fn is_std_path(path: &str) -> bool {
    let mut p = path.trim_start();
    loop {
        let before = p;
        for prefix in ["&", "mut ", "*const ", "*mut ", "dyn ", "[", "(", "<"] {
            p = p.strip_prefix(prefix).unwrap_or(p).trim_start();
        }
        if p == before {
            break;
        }
    }
    [
        "std::",
        "core::",
        "alloc::",
        "test::",
        "hashbrown::",
        "gimli::",
        "addr2line::",
        "object::",
        "miniz_oxide::",
        "rustc_demangle::",
        "std_detect::",
        "panic_unwind::",
    ]
    .iter()
    .any(|prefix| p.starts_with(prefix))
}

/// `true` for a path in leakcheck's runtime or its allocation engine.
fn is_own_crate_path(path: &str) -> bool {
    ["leakcheck_rt::", "leakcheck_engine::", "leakcheck_format::"]
        .iter()
        .any(|own| path.starts_with(own))
}

/// `true` for frames of leakcheck itself and of the allocation entry points.
pub(crate) fn is_own(function: &str) -> bool {
    let f = function.trim_start_matches('<');
    is_own_crate_path(f)
        || f.starts_with("__rustc::")
        || f.starts_with("__rust_alloc")
        || f.starts_with("__rust_realloc")
        || f.starts_with("__rust_dealloc")
        || f.starts_with("__rg_")
        || f.starts_with("__rdl_")
        || f.starts_with("std::sys::alloc::")
        || f.starts_with("backtrace::")
}

/// `true` for frames of the DWARF unwinder the tracker falls back to: the
/// `backtrace` crate and libgcc's `_Unwind_*`.
fn is_unwinder(frame: &Frame) -> bool {
    frame.function.starts_with("_Unwind_")
        || frame
            .file
            .strip_prefix("backtrace-")
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
}

/// `true` for source files of leakcheck's runtime, its engine and its
/// formats: `leakcheck-rt/src/…` (or `leakcheck-engine/src/…`,
/// `leakcheck-format/src/…`) in its own
/// workspace, `leakcheck-rt-0.1.0/src/…` from a registry. Needed
/// besides [`is_own`]: with line tables only (a common release setting)
/// inlined frames carry bare names such as `on_alloc`.
pub(crate) fn is_own_file(file: &str) -> bool {
    let mut parts = file.split('/').peekable();
    while let Some(part) = parts.next() {
        let crate_dir = ["leakcheck-rt", "leakcheck-engine", "leakcheck-format"]
            .iter()
            .any(|name| {
                part == *name
                    || part
                        .strip_prefix(name)
                        .and_then(|v| v.strip_prefix('-'))
                        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
        if crate_dir && parts.peek() == Some(&"src") {
            return true;
        }
    }
    false
}

/// A source path as reports show it, and where its code comes from.
pub(crate) fn normalise(path: &Path) -> (String, FrameKind) {
    let s = path.to_string_lossy().replace('\\', "/");
    if let Some(known) = leakcheck_format::traceback::toolchain_or_registry(&s) {
        return known;
    }
    if !path.is_absolute() {
        return (s, FrameKind::Workspace);
    }
    if let Some(root) = workspace_root()
        && let Ok(rel) = path.strip_prefix(root)
    {
        return (
            rel.to_string_lossy().replace('\\', "/"),
            FrameKind::Workspace,
        );
    }
    (s, FrameKind::Other)
}

/// The root that workspace paths are shown relative to:
/// `LEAKCHECK_WORKSPACE_ROOT`, else the workspace of `CARGO_MANIFEST_DIR`
/// (set by cargo when it runs tests), else the current directory.
pub(crate) fn workspace_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        // A session's, as it started: its tests may have changed the
        // environment since.
        if let Some(root) = crate::session::start_workspace_root() {
            return Some(PathBuf::from(root));
        }
        if let Some(root) = std::env::var_os(leakcheck_format::protocol::env::WORKSPACE_ROOT) {
            return Some(PathBuf::from(root));
        }
        if let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR") {
            return Some(find_workspace_root(Path::new(&manifest)));
        }
        std::env::current_dir().ok()
    })
    .as_deref()
}

/// The nearest ancestor of `manifest_dir` (itself included) whose
/// `Cargo.toml` declares a `[workspace]`, else `manifest_dir`.
pub(crate) fn find_workspace_root(manifest_dir: &Path) -> PathBuf {
    manifest_dir
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
        })
        .unwrap_or(manifest_dir)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_and_registry_paths() {
        let (f, k) = normalise(Path::new("/rustc/abc123/library/alloc/src/vec/mod.rs"));
        assert_eq!(
            (f.as_str(), k),
            ("std:alloc/src/vec/mod.rs", FrameKind::Std)
        );
        let (f, k) = normalise(Path::new("/rust/deps/hashbrown-0.15.5/src/raw/mod.rs"));
        assert_eq!(
            (f.as_str(), k),
            ("std:deps/hashbrown-0.15.5/src/raw/mod.rs", FrameKind::Std)
        );
        let (f, k) = normalise(Path::new(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lru-0.6.0/src/lib.rs",
        ));
        assert_eq!(
            (f.as_str(), k),
            ("lru-0.6.0/src/lib.rs", FrameKind::Registry)
        );
    }

    #[test]
    fn own_frames() {
        assert!(is_own("leakcheck_engine::account::on_alloc"));
        assert!(is_own(
            "<leakcheck_engine::global::TrackingAllocator<A,H> as core::alloc::global::GlobalAlloc>::alloc"
        ));
        assert!(is_own("leakcheck_rt::symbolize::traceback_of"));
        assert!(!is_own("leakcheck_engineer::handle"));
        assert!(is_own(
            "leakcheck_format::snapshot::model::Snapshot::statistics"
        ));
        assert!(is_own("__rustc::__rust_alloc"));
        assert!(!is_own("alloc::raw_vec::RawVec<T,A>::grow_one"));
        assert!(!is_own("fixture::handle_request"));
        assert!(is_std_function(
            "<alloc::raw_vec::RawVecInner>::try_allocate_in"
        ));
        assert!(!is_std_function("fixture::alloc::thing"));
        // Frames of a build without line tables: std by the path's crate.
        assert!(is_std_function("alloc::fmt::format::format_inner"));
        assert!(is_std_function("core::ptr::drop_in_place<service::Pool>"));
        assert!(!is_std_function("alloc_x::fmt::format"));
        assert!(!is_std_function("stdlib::handle"));
        assert!(!is_std_function("service::handle"));
        assert!(is_std_function(
            "<alloc::vec::Vec<service::Item> as core::clone::Clone>::clone"
        ));
        assert!(is_std_function(
            "<&mut alloc::string::String as core::fmt::Write>::write_str"
        ));
        assert!(!is_std_function(
            "<alloc::vec::Vec<u8> as service::Encode>::encode"
        ));
        assert!(!is_std_function(
            "<service::Greeting as core::fmt::Display>::fmt"
        ));
        assert!(!is_std_function("<service::Pool>::query"));
        assert!(is_std_function(
            "<std::collections::hash::map::HashMap<u64, alloc::vec::Vec<u8>>>::insert"
        ));
        assert!(is_alloc_entry("__rustc::__rust_alloc"));
        assert!(is_alloc_entry("__rust_realloc"));
        assert!(is_alloc_entry("__rustc::__rg_alloc_zeroed"));
        assert!(is_alloc_entry(
            "<leakcheck_engine::global::TrackingAllocator<A,H> as core::alloc::global::GlobalAlloc>::alloc"
        ));
        assert!(!is_alloc_entry("alloc::alloc::alloc"));
        assert!(!is_alloc_entry("backtrace::backtrace::libunwind::trace"));
        assert!(is_own_file("leakcheck-engine/src/stack.rs"));
        assert!(is_own_file("leakcheck-engine-0.1.0/src/account.rs"));
        assert!(is_own_file("leakcheck-format/src/snapshot/file.rs"));
        assert!(is_own_file("leakcheck-rt/src/tracking.rs"));
        assert!(is_own_file("leakcheck-rt-0.1.0/src/symbolize.rs"));
        assert!(!is_own_file("leakcheck-engine/tests/seed.rs"));
        assert!(!is_own_file("leakcheck-rt/tests/seed.rs"));
        assert!(!is_own_file("leakcheck-rt-extra/src/lib.rs"));
        assert!(!is_own_file("src/leakcheck-rt.rs"));
    }

    /// The snapshot written at exit keeps none of the tracebacks it
    /// symbolised: the cache holds frames per address, not per stack, and
    /// the tracebacks given are those a kept snapshot has.
    #[test]
    fn tracebacks_given_one_at_a_time_are_not_cached() {
        let id = alloc::intern(&stack_in_closure_of_iterator());
        let mut given = Vec::new();
        each_traceback(&[id, id], 25, |tb| given.push(tb.clone()));
        assert!(!lock_cache().stacks.contains_key(&id));
        assert_eq!(given.len(), 2);
        assert!(!given[0].is_empty() && given[0] == given[1]);
        assert_eq!(tracebacks_of(&[id], 25), given[..1]);
        assert!(lock_cache().stacks.contains_key(&id));
    }

    /// Return addresses of the calling thread's stack, innermost first.
    #[inline(never)]
    fn stack() -> Vec<usize> {
        let mut ips = Vec::new();
        backtrace::trace(|frame| {
            ips.push(frame.ip() as usize);
            true
        });
        ips
    }

    /// Inlined even in a dev build: its call to `stack` is an inlined
    /// frame of its caller.
    #[inline(always)]
    fn stack_from_inlined() -> Vec<usize> {
        stack()
    }

    #[inline(never)]
    fn stack_in_closure_of_iterator() -> Vec<usize> {
        (0..1).flat_map(|_| stack_from_inlined()).collect()
    }

    /// Every return address of a few stacks (through this test's
    /// functions, an inlined one, iterator closures, std's test harness and
    /// thread start) resolves to exactly the frames `backtrace` gives, and
    /// those in the executable come from its debug info, not from the
    /// fallback.
    #[test]
    fn compile_unit_frames_are_the_frames_backtrace_gives() {
        let mut debug = DebugInfo::default();
        let mut ips = stack();
        ips.extend(stack_from_inlined());
        ips.extend(stack_in_closure_of_iterator());
        ips.extend(
            std::thread::spawn(stack_in_closure_of_iterator)
                .join()
                .unwrap(),
        );
        ips.sort_unstable();
        ips.dedup();
        let mut from_debug_info = 0;
        for &ip in &ips {
            let Some(addr) = ip.checked_sub(1) else {
                continue;
            };
            let expected = resolve_with_backtrace(addr);
            let in_exe = debug
                .object_of(addr)
                .is_some_and(|(p, _)| p == Path::new("/proc/self/exe"));
            // Code with line tables is read from its unit, not left to
            // `backtrace` (rustc's `__rust_try` shim has none).
            if in_exe && expected.iter().any(|f| f.line != 0) {
                assert!(
                    debug.frames(addr).is_some(),
                    "{addr:#x} in the executable has no frames: {expected:?}"
                );
                from_debug_info += 1;
            }
            assert_eq!(resolve_call(&mut debug, addr), expected, "at {addr:#x}");
        }
        assert!(from_debug_info >= 10, "{from_debug_info} of {}", ips.len());
    }

    /// Addresses spread evenly over the whole of the executable's code
    /// (std's units, the registry crates', this crate's; LTO or not, as
    /// the profile builds it) resolve to the frames `backtrace` gives, not
    /// only the return addresses of stacks this test can capture.
    #[test]
    fn addresses_all_over_the_executable_resolve_as_backtrace_resolves_them() {
        let exe = alloc::loaded_objects()
            .into_iter()
            .find(|o| o.path == Path::new("/proc/self/exe"))
            .expect("the executable is loaded");
        let code: usize = exe.code.iter().map(|(start, end)| end - start).sum();
        let step = (code / 3_000).max(1);
        let mut debug = DebugInfo::default();
        let (mut sampled, mut compared) = (0, 0);
        let mut differ = Vec::new();
        for &(start, end) in &exe.code {
            for addr in (start..end).step_by(step) {
                let expected = resolve_with_backtrace(addr);
                sampled += 1;
                // backtrace names nothing at `_start` and the crt code
                // before the first function (the symbol table may), and
                // what the reader cannot answer goes to backtrace itself.
                if expected.is_empty() || debug.frames(addr).is_none() {
                    continue;
                }
                let got = resolve_call(&mut debug, addr);
                // Named from the symbol table by both: where identical code
                // was merged, several symbols share the address, and which
                // one backtrace's unstable sort puts last is its own.
                let symbol_only =
                    |f: &[Frame]| matches!(f, [only] if only.line == 0 && only.file == "<unknown>");
                if got != expected && !(symbol_only(&got) && symbol_only(&expected)) {
                    differ.push(format!(
                        "{addr:#x} ({:#x} in the file): {got:?}, backtrace: {expected:?}",
                        addr - exe.bias
                    ));
                }
                compared += 1;
            }
        }
        assert!(
            differ.is_empty(),
            "{} of {compared} addresses differ, the first: {:#?}",
            differ.len(),
            &differ[..differ.len().min(3)]
        );
        // In this build (no split debug info) the reader answers nearly
        // every address itself.
        assert!(
            sampled >= 2_500 && compared * 10 >= sampled * 9,
            "{compared} of {sampled} from the debug info"
        );
    }

    #[test]
    fn an_inlined_call_is_a_frame_of_its_own() {
        let mut debug = DebugInfo::default();
        let ips = stack_from_inlined();
        // Names are paths in a dev build, bare with line tables only.
        let last = |f: &Frame| {
            f.function
                .rsplit("::")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        // The return into `stack`'s caller, `stack_from_inlined` inlined
        // into this test: the first address past `stack`'s own frame.
        let at = ips
            .iter()
            .position(|&ip| {
                resolve_call(&mut debug, ip - 1)
                    .iter()
                    .any(|f| last(f) == "stack")
            })
            .expect("stack's own frame");
        let frames = resolve_call(&mut debug, ips[at + 1] - 1);
        let names: Vec<String> = frames.iter().map(last).collect();
        // An optimised build may inline the test into libtest's closure too.
        assert_eq!(
            names[..2],
            [
                "stack_from_inlined",
                "an_inlined_call_is_a_frame_of_its_own"
            ],
            "{frames:?}"
        );
        if cfg!(debug_assertions) {
            assert_eq!(
                frames[0].function,
                "leakcheck_rt::symbolize::tests::stack_from_inlined"
            );
        }
        assert_eq!(frames[0].file, "leakcheck-rt/src/symbolize.rs");
        assert!(
            frames[0].line > 0 && frames[1].line > frames[0].line,
            "{frames:?}"
        );
    }

    #[test]
    fn code_without_debug_info_is_named_from_symbols() {
        let mut debug = DebugInfo::default();
        let getpid = libc::getpid as *const () as usize;
        assert_eq!(debug.frames(getpid), None, "libc is left to its symbols");
        let frames = resolve(&mut debug, getpid + 1);
        assert!(frames[0].function.ends_with("getpid"), "{frames:?}");
        // The vDSO is loaded but is no file: its addresses go to the fallback.
        let vdso = alloc::loaded_objects()
            .into_iter()
            .find(|o| o.path.to_string_lossy().starts_with("linux-vdso"))
            .expect("the vDSO is mapped");
        assert_eq!(debug.frames(vdso.code[0].0), None);
    }

    #[test]
    fn workspace_root_of_this_crate() {
        let root = find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(root.join("leakcheck-rt").is_dir());
    }
}
