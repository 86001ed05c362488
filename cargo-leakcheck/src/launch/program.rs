//! What the program to start is, read from its file before it starts: a
//! program the preloaded library cannot track gets a one-line reason, not
//! an empty series of snapshots.
//!
//! - A static executable (no `PT_INTERP`) never runs the dynamic loader,
//!   which is what loads `LD_PRELOAD`.
//! - An executable that defines `malloc` itself, or links an allocator of
//!   its own (jemalloc, mimalloc, snmalloc, tcmalloc), keeps its Rust
//!   allocations away from the C library's `malloc`.
//! - Without `--native`, a Rust allocation is told from a C one by the
//!   names of the functions that call `malloc`: a program without a symbol
//!   table (stripped) has none.
//!
//! A script (`#!`) is started as it is: its interpreter is what runs.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSymbol};

/// Why a program cannot be tracked, as one line (after the program's
/// name).
pub type Refusal = String;

/// Symbols that give away an allocator of the program's own, and its name.
const OWN_ALLOCATORS: &[(&str, &str)] = &[
    ("_rjem_", "jemalloc"),
    ("je_malloc", "jemalloc"),
    ("mi_malloc", "mimalloc"),
    ("sn_rust_alloc", "snmalloc"),
    ("tc_malloc", "tcmalloc"),
];

/// `program` as `execvp` finds it: a path when it has a `/`, else the
/// first executable file of that name in `PATH`.
pub fn locate(program: &OsStr, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let as_path = Path::new(program);
    if program.as_encoded_bytes().contains(&b'/') {
        return as_path.is_file().then(|| as_path.to_owned());
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks the program at `path` (`native`: C allocations are counted too).
pub fn check(path: &Path, native: bool) -> Result<(), Refusal> {
    let data = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    if data.starts_with(b"#!") {
        return Ok(());
    }
    if !data.starts_with(b"\x7fELF") {
        return Err("is neither an ELF executable nor a script".into());
    }
    let file = ElfFile64::<Endianness>::parse(&*data)
        .map_err(|e| format!("is not a 64-bit ELF file leakcheck can read: {e}"))?;
    let endian = file.endian();
    let dynamic = file
        .elf_program_headers()
        .iter()
        .any(|ph| ph.p_type(endian) == elf::PT_INTERP);
    if !dynamic {
        return Err(
            "is statically linked: the dynamic loader, which preloads leakcheck's \
                    library, never runs in it (build it dynamically linked, or check it \
                    with `dump_every` inside)"
                .into(),
        );
    }
    let defined = || {
        file.symbols()
            .chain(file.dynamic_symbols())
            .filter(|s| s.is_definition())
            .filter_map(|s| s.name().ok())
    };
    if let Some(name) = defined().find_map(own_allocator) {
        return Err(format!(
            "has an allocator of its own ({name}): its allocations never reach the C \
             library's malloc, which is what leakcheck's preloaded library tracks (check \
             it with `dump_every` inside, built with leakcheck's allocator)"
        ));
    }
    if !native && file.symbols().next().is_none() {
        return Err(
            "has no symbol table (stripped): leakcheck cannot tell its Rust \
                    allocations from C ones; pass --native to track every malloc, or \
                    keep its symbols"
                .into(),
        );
    }
    Ok(())
}

/// The allocator a defined symbol belongs to, if it is one of its own.
fn own_allocator(symbol: &str) -> Option<&'static str> {
    if symbol == "malloc" {
        return Some("it defines malloc");
    }
    OWN_ALLOCATORS
        .iter()
        .find(|(prefix, _)| symbol.starts_with(prefix))
        .map(|&(_, name)| name)
}

/// `LD_PRELOAD` with `library` first, before what it held.
pub fn preload_value(library: &Path, before: Option<&OsStr>) -> OsString {
    let mut value = OsString::from(library);
    if let Some(before) = before.filter(|b| !b.is_empty()) {
        value.push(":");
        value.push(before);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_allocators_by_their_symbols() {
        assert_eq!(own_allocator("_rjem_mallocx"), Some("jemalloc"));
        assert_eq!(own_allocator("mi_malloc_aligned"), Some("mimalloc"));
        assert_eq!(own_allocator("malloc"), Some("it defines malloc"));
        assert_eq!(own_allocator("malloc_usable_size"), None);
        assert_eq!(own_allocator("main"), None);
    }

    #[test]
    fn programs_that_cannot_be_tracked_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        assert_eq!(
            check(&text, false),
            Err("is neither an ELF executable nor a script".into())
        );
        let script = dir.path().join("start.sh");
        std::fs::write(&script, "#!/bin/sh\nexec true\n").unwrap();
        assert_eq!(check(&script, false), Ok(()));
        // This test binary: dynamically linked, with its symbols.
        let me = std::env::current_exe().unwrap();
        assert_eq!(check(&me, false), Ok(()));
    }

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        let sh = locate(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin:/usr/bin")),
        );
        assert!(sh.is_some_and(|p| p.ends_with("sh")));
        assert_eq!(locate(OsStr::new("sh"), None), None);
        assert_eq!(locate(OsStr::new("./no-such-program"), None), None);
    }

    #[test]
    fn the_library_goes_first_in_ld_preload() {
        let lib = Path::new("/l/libleakcheck_preload.so");
        assert_eq!(preload_value(lib, None), "/l/libleakcheck_preload.so");
        assert_eq!(
            preload_value(lib, Some(OsStr::new("/u/libfoo.so"))),
            "/l/libleakcheck_preload.so:/u/libfoo.so"
        );
    }
}
