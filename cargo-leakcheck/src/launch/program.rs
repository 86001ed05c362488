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

/// What the file of a program that can be tracked says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// Whether its own code keeps frame pointers ([`frame_pointer_share`]
    /// at least 0.9): stacks can be walked; else, or when its file cannot
    /// tell (`None`: a script, another architecture, no symbol table), the
    /// DWARF unwinder takes them.
    pub frame_pointers: Option<bool>,
}

/// Checks the program at `path` (`native`: C allocations are counted too).
pub fn check(path: &Path, native: bool) -> Result<Program, Refusal> {
    let data = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    if data.starts_with(b"#!") {
        // What runs is the interpreter, whatever it is built with.
        return Ok(Program {
            frame_pointers: None,
        });
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
    Ok(Program {
        frame_pointers: frame_pointer_share(&data).map(|share| share >= 0.9),
    })
}

/// Of the program's own functions that set up a stack frame, the share
/// that does it with a frame pointer (`push rbp; mov rbp, rsp` first, after
/// an `endbr64`) rather than without (pushing another callee-saved
/// register, or moving the stack pointer, first); leaf functions and jumps
/// say nothing either way. On x86-64; `None` when it cannot be told
/// (another architecture, no symbol table, no such function).
pub fn frame_pointer_share(data: &[u8]) -> Option<f64> {
    let file = ElfFile64::<Endianness>::parse(data).ok()?;
    if file.architecture() != object::Architecture::X86_64 {
        return None;
    }
    let (mut with, mut without) = (0u32, 0u32);
    for symbol in file.symbols() {
        if symbol.kind() != object::SymbolKind::Text
            || !symbol.is_definition()
            || symbol.name().is_ok_and(is_std_symbol)
        {
            continue;
        }
        match symbol_code(&file, &symbol).and_then(prologue) {
            Some(true) => with += 1,
            Some(false) => without += 1,
            None => {}
        }
    }
    (with + without > 0).then(|| f64::from(with) / f64::from(with + without))
}

/// Whether code that starts with `code` sets up a frame pointer (`Some(true)`),
/// a frame without one (`Some(false)`), or no frame at all (`None`).
fn prologue(code: &[u8]) -> Option<bool> {
    let code = code
        .strip_prefix(&[0xf3, 0x0f, 0x1e, 0xfa][..])
        .unwrap_or(code);
    match code {
        // push rbp; mov rbp, rsp
        [0x55, 0x48, 0x89, 0xe5, ..] => Some(true),
        // push r12..r15 / push rbx / push rax / push rbp (saved, not set up)
        [0x41, 0x54..=0x57, ..] | [0x53, ..] | [0x50, ..] | [0x55, ..] => Some(false),
        // sub rsp, imm8 / imm32
        [0x48, 0x83 | 0x81, 0xec, ..] => Some(false),
        _ => None,
    }
}

/// The standard library's crates (and their own dependencies): they come
/// precompiled (with frame pointers, since Rust 1.79), whatever the
/// program was built with.
const STD_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "hashbrown",
    "gimli",
    "addr2line",
    "rustc_demangle",
    "object",
    "std_detect",
    "miniz_oxide",
    "panic_unwind",
    "adler2",
    "panic_abort",
    "memchr",
    "unwind",
    "__rustc",
];

/// The C start-up code and the entry points rustc writes around `main`:
/// built as the toolchain ships them.
const RUNTIME_SYMBOLS: &[&str] = &[
    "_init",
    "_fini",
    "_start",
    "main",
    "rust_eh_personality",
    "deregister_tm_clones",
    "register_tm_clones",
    "__do_global_dtors_aux",
    "frame_dummy",
];

fn is_std_symbol(name: &str) -> bool {
    RUNTIME_SYMBOLS.contains(&name) || symbol_crate(name).is_some_and(|c| STD_CRATES.contains(&c))
}

/// The crate a mangled Rust symbol's path starts in: the first path
/// component of a legacy name (`_ZN3std2io5stdio...`), the first crate
/// root of a v0 one (`_RNvNtCs1234_3std2io...`: `C`, a disambiguator
/// `s…_`, a length and the name).
fn symbol_crate(name: &str) -> Option<&str> {
    // A length, then (v0 only) a `_` when the name starts with `_` or a
    // digit, then the name.
    fn ident(s: &str, v0: bool) -> Option<&str> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let len: usize = s.get(..digits)?.parse().ok()?;
        let mut s = &s[digits..];
        if v0 && let Some(rest) = s.strip_prefix('_') {
            s = rest;
        }
        s.get(..len)
            .filter(|i| i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    }
    if let Some(rest) = name.strip_prefix("_ZN") {
        return ident(rest, false);
    }
    let rest = name.strip_prefix("_R")?;
    rest.match_indices('C').find_map(|(i, _)| {
        let mut after = &rest[i + 1..];
        if let Some(disambiguated) = after.strip_prefix('s') {
            let end = disambiguated.find('_')?;
            if !disambiguated[..end]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
            {
                return None;
            }
            after = &disambiguated[end + 1..];
        }
        ident(after, true)
    })
}

/// The first bytes of a function symbol's code.
fn symbol_code<'d>(
    file: &ElfFile64<'d, Endianness>,
    symbol: &object::read::elf::ElfSymbol64<'d, '_, Endianness>,
) -> Option<&'d [u8]> {
    use object::ObjectSection;
    let section = file.section_by_index(symbol.section_index()?).ok()?;
    let data = section.data().ok()?;
    let start = usize::try_from(symbol.address().checked_sub(section.address())?).ok()?;
    data.get(start..start + 8)
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
        assert_eq!(
            check(&script, false),
            Ok(Program {
                frame_pointers: None
            })
        );
        // This test binary: dynamically linked, with its symbols and frame
        // pointers.
        let me = std::env::current_exe().unwrap();
        assert_eq!(
            check(&me, false),
            Ok(Program {
                frame_pointers: Some(true)
            })
        );
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
    fn crates_of_mangled_symbols() {
        assert_eq!(
            symbol_crate("_ZN3std2io5stdio6_print17h0123456789abcdefE"),
            Some("std")
        );
        assert_eq!(
            symbol_crate(
                "_RNvXsZ_NtCslNYArtu3iFV_5alloc6stringNtB5_6StringNtNtCsgEmfK2I1SDS_4core3fmt5Write9write_str"
            ),
            Some("alloc")
        );
        assert_eq!(symbol_crate("_RNvCs1a2b3c_6server4main"), Some("server"));
        assert_eq!(
            symbol_crate("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc"),
            Some("__rustc")
        );
        assert_eq!(symbol_crate("main"), None);
        assert!(is_std_symbol("_RNvNtCsjrHSEGnQ3l9_3std3sys4exit"));
        assert!(!is_std_symbol(
            "_ZN6server7Service14handle_request17h0123456789abcdefE"
        ));
    }

    #[test]
    fn frame_pointer_prologues() {
        assert_eq!(prologue(&[0x55, 0x48, 0x89, 0xe5, 0x41, 0x57]), Some(true));
        assert_eq!(
            prologue(&[0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5]),
            Some(true)
        );
        assert_eq!(prologue(&[0x41, 0x57, 0x41, 0x56, 0x53]), Some(false));
        assert_eq!(prologue(&[0x48, 0x83, 0xec, 0x18]), Some(false));
        assert_eq!(prologue(&[0x55, 0x53, 0x48, 0x83]), Some(false));
        assert_eq!(prologue(&[0x48, 0x89, 0xf8, 0xc3]), None);
        assert_eq!(prologue(&[0xe9, 0, 0, 0, 0]), None);
        // This test binary: built with the workspace's frame pointers.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(frame_pointer_share(&me).is_some_and(|s| s >= 0.99));
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
