//! What a test binary links by depending on leakcheck-rt. Every crate in
//! that graph is visible to the user's code, and a trait impl on a std type
//! in any of them can change type inference there (serde_json's
//! `impl PartialEq<Value> for u8` broke `assert_eq!(bytes[0], 1.into())`;
//! `leakcheck-rt/tests/inference.rs` checks the effect itself).
//!
//! Runs `cargo tree` offline on the workspace's lockfile.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;

use leakcheck_tests::workspace_root;

/// Crates of leakcheck-rt's graph (proc macros and their dependencies left
/// out: the user's crate never loads them) whose sources were read for
/// impls of std traits on std types (`PartialEq<X> for u8`, `From<X> for
/// String`, `AsRef<X> for str`, ...) that could make an expression
/// ambiguous (read at the versions of the workspace's and the fixtures'
/// lockfiles: backtrace 0.3.76 and 0.3.77 and their dependencies; gimli
/// 0.32.3 and object 0.37.3, which leakcheck-rt also reads debug info with
/// itself, are the workspace backtrace's). What
/// they have: `From<their error> for io::Error` (glob, tempfile, getrandom,
/// rustix), `TryFrom<Timespec> for Duration` (rustix),
/// `From<CompressionStrategy> for i32` and `From<CompressionLevel> for
/// i8/i32/u8` (miniz_oxide's deflate module, 0.8 and 0.9, compiled since
/// flate2 writes gzip'd pprof profiles), `From<its errors> for io::Error` (flate2),
/// `From<U16<E>> for u16` and the like and `From<VersionIndex> for
/// usize` (object 0.40), all on types that already have several impls of
/// the trait, so no inference changes. crc32fast and simd-adler32 (flate2's)
/// implement only their own traits (`Adler32Hash for &[u8]`, `&str`, arrays). A crate that is added to the graph
/// must be read the same way, then added here.
const AUDITED: &[&str] = &[
    "addr2line",
    "adler2",
    "backtrace",
    "bitflags",
    "cfg-if",
    "console",
    "crc32fast",
    "fastrand",
    "flate2",
    "getrandom",
    "gimli",
    "glob",
    "insta",
    "leakcheck-engine",
    "leakcheck-format",
    "leakcheck-rt",
    "libc",
    "linux-raw-sys",
    "memchr",
    "miniz_oxide",
    "object",
    "once_cell",
    "rustc-demangle",
    "rustix",
    "serde",
    "serde_core",
    "simd-adler32",
    "similar",
    "tempfile",
    "thiserror",
];

/// The `harness` feature adds libtest-mimic, and with it clap, whose
/// `PartialEq<Str> for str` (and for `String`, `OsStr`) the README names.
const HARNESS: &[&str] = &[
    "anstream",
    "anstyle",
    "anstyle-parse",
    "anstyle-query",
    "clap",
    "clap_builder",
    "clap_lex",
    "colorchoice",
    "escape8259",
    "is_terminal_polyfill",
    "libtest-mimic",
    "strsim",
    "utf8parse",
];

/// The `tokio` feature (async leak tests) adds tokio and pin-project-lite.
/// tokio has `From<tokio::time::Instant> for std::time::Instant` and
/// `From<its errors> for io::Error`, but a test binary that enables the
/// feature runs its tests on tokio already, so it links nothing new.
const TOKIO: &[&str] = &["pin-project-lite", "tokio"];

/// The names of the packages in `cargo tree -p leakcheck-rt -e EDGES`.
fn tree(edges: &str, features: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "leakcheck-rt", "-e", edges])
        .args(["--prefix", "none", "--format", "{p}"])
        .args(features)
        .current_dir(workspace_root())
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(names.contains("backtrace"), "{stdout}");
    names
}

#[test]
fn the_runtime_never_links_serde_json() {
    for features in [&[][..], &["--all-features"], &["--no-default-features"]] {
        let names = tree("normal", features);
        assert!(!names.contains("serde_json"), "{features:?}: {names:?}");
    }
}

#[test]
fn every_crate_the_runtime_links_was_audited() {
    let default = tree("normal,no-proc-macro", &[]);
    let unaudited: Vec<_> = default
        .iter()
        .filter(|n| !AUDITED.contains(&n.as_str()))
        .collect();
    assert!(unaudited.is_empty(), "not audited: {unaudited:?}");

    let all = tree("normal,no-proc-macro", &["--all-features"]);
    let unaudited: Vec<_> = all
        .iter()
        .filter(|n| {
            let n = n.as_str();
            !AUDITED.contains(&n) && !HARNESS.contains(&n) && !TOKIO.contains(&n)
        })
        .collect();
    assert!(unaudited.is_empty(), "not audited: {unaudited:?}");
}

#[test]
fn what_a_test_binary_does_not_use_is_behind_features() {
    let default = tree("normal", &[]);
    assert!(default.contains("insta"), "{default:?}");
    for name in ["libtest-mimic", "clap"] {
        assert!(!default.contains(name), "{name} by default: {default:?}");
    }
    let bare = tree("normal", &["--no-default-features"]);
    for name in ["insta", "libtest-mimic", "clap", "console", "similar"] {
        assert!(!bare.contains(name), "{name} without features: {bare:?}");
    }
    let harness = tree(
        "normal",
        &["--no-default-features", "--features", "harness"],
    );
    assert!(harness.contains("libtest-mimic"), "{harness:?}");
    assert!(!harness.contains("insta"), "{harness:?}");
}

/// Every crate that a user's test binary can bring in through leakcheck
/// (leakcheck-rt with all its features, leakcheck-macros, leakcheck-engine
/// once it exists, and what those depend on, proc macros included), with
/// why it is acceptable. Only `libc` is called from the allocator's entry
/// points (`leakcheck-rt/src/alloc/` walks frame pointers itself), so none
/// of the others allocates through the tracker while it records. "Read"
/// means its impls of std traits on std types were read as [`AUDITED`]
/// says, and none changes inference. A crate added here is read the same
/// way first.
const LINKED: &[&str] = &[
    // leakcheck's own crates.
    "leakcheck-macros", // `#[leak_test]`; a proc macro, run by the compiler, never linked
    "leakcheck-rt",     // the tracking allocator, snapshots and reports
    "leakcheck-engine", // the allocation engine under leakcheck-rt's allocator
    "leakcheck-format", // the report model and file formats (its own JSON)
    // Symbolisation, after a run and outside the allocator. Read.
    "backtrace",      // resolves what leakcheck-rt's own debuginfo reader cannot
    "addr2line",      // backtrace's line tables
    "gimli",          // DWARF, also read by leakcheck-rt itself
    "object",         // ELF, also read by leakcheck-rt itself
    "rustc-demangle", // symbol names
    "miniz_oxide",    // compressed debug sections, and pprof's gzip (deflate compiled for it)
    "adler2",         // miniz_oxide's checksum
    "memchr",         // byte search for object and gimli
    "cfg-if",         // a macro; nothing at run time
    // The system. Read.
    "libc",          // raw bindings: the allocator's mmap, thread keys and write
    "rustix",        // the parent-death signal, tempfile's files
    "linux-raw-sys", // rustix's syscall numbers and types; plain data
    "bitflags",      // rustix's flag types; impls on the generated types only
    // rustix's errno access through libc; an `Errno` type of its own.
    "errno",
    // Files: reports and snapshots replaced atomically, session globs. Read.
    "tempfile",  // the atomic replacement
    "fastrand",  // tempfile's names
    "getrandom", // tempfile's seed
    "once_cell", // lazy statics of tempfile and insta
    "glob",      // `LEAKCHECK_SESSION` patterns
    // pprof profiles are gzip'd (`Snapshot::dump_pprof`). Read.
    "flate2",       // gzip over miniz_oxide; `From<its errors> for io::Error` only
    "crc32fast",    // gzip's checksum; impls of its own traits only
    "simd-adler32", // miniz_oxide's checksum; `Adler32Hash`, its own trait
    // Errors and serialisation (JSON itself is leakcheck-rt's own). Read.
    "thiserror",  // derives Error and Display on leakcheck's own types
    "serde",      // its impls on std types are of its own traits
    "serde_core", // serde's traits, split out of serde
    // Proc macros and their own dependencies: run by the compiler, never
    // linked into the test binary.
    "thiserror-impl", // thiserror's derive
    "serde_derive",   // serde's derive
    "clap_derive",    // clap's derive (feature `harness`)
    "heck",           // clap_derive's case conversion
    "syn",            // parses the macros' input
    "quote",          // writes their output
    "proc-macro2",    // syn's and quote's token types
    "unicode-ident",  // proc-macro2's identifier tables
    // Feature `insta` (default): a leak report checked against a snapshot.
    // Read.
    "insta",   // the snapshot check
    "console", // insta's terminal output
    "similar", // insta's diffs
    // console's column widths: traits of its own on char and str.
    "unicode-width",
    // Feature `harness`: libtest-mimic and clap, whose `PartialEq<Str>`
    // for str (and String, OsStr) the README names. Read.
    "libtest-mimic",        // the harness's runner
    "escape8259",           // libtest-mimic's JSON strings
    "clap",                 // libtest-mimic's command line
    "clap_builder",         // clap's builder
    "clap_lex",             // clap's lexer
    "strsim",               // clap's suggestions
    "anstream",             // clap's coloured output
    "anstyle",              // styles
    "anstyle-parse",        // anstream's escape parser
    "anstyle-query",        // terminal queries
    "colorchoice",          // the colour choice
    "is_terminal_polyfill", // `is_terminal`
    "utf8parse",            // anstyle-parse's decoder
    // Feature `tokio`: async leak tests run on tokio, which a test binary
    // that enables the feature links already. Read.
    "tokio",            // the runtime
    "pin-project-lite", // tokio's pinning macro; nothing at run time
];

/// The host's target triple, so that `cargo metadata` resolves for the
/// platform the tests run on (other platforms' crates are not downloaded).
fn host() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// Each package that the workspace members named in `roots` reach through
/// normal dependencies (every feature of the workspace on, so each feature
/// of leakcheck-rt counts), with the path that brought it in.
fn linked_from(roots: &[&str]) -> Vec<(String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--all-features", "--filter-platform", &host()])
        .current_dir(workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let normal_deps: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), deps)
        })
        .collect();
    let mut paths: BTreeMap<&str, Vec<&str>> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .filter(|id| roots.contains(&names[id]))
        .map(|id| (id, vec![names[id]]))
        .collect();
    assert_eq!(
        paths.len(),
        roots.len(),
        "every one of {roots:?} is a workspace member"
    );
    let mut queue: VecDeque<&str> = paths.keys().copied().collect();
    while let Some(id) = queue.pop_front() {
        for &dep in &normal_deps[id] {
            if !paths.contains_key(dep) {
                let mut path = paths[id].clone();
                path.push(names[dep]);
                paths.insert(dep, path);
                queue.push_back(dep);
            }
        }
    }
    paths
        .into_values()
        .map(|path| {
            let path: Vec<String> = path.into_iter().map(str::to_owned).collect();
            (path.last().unwrap().clone(), path)
        })
        .collect()
}

#[test]
fn every_crate_a_test_binary_can_link_is_on_the_audited_list() {
    let linked = linked_from(&[
        "leakcheck-rt",
        "leakcheck-macros",
        "leakcheck-engine",
        "leakcheck-format",
    ]);
    let names: BTreeSet<&str> = linked.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains("backtrace"), "{names:?}");
    let outside: Vec<String> = linked
        .iter()
        .filter(|(name, _)| !LINKED.contains(&name.as_str()))
        .map(|(name, path)| format!("{name}, brought in by {}", path.join(" → ")))
        .collect();
    assert!(
        outside.is_empty(),
        "crates outside the audited list (LINKED in tests/tests/dependencies.rs):\n{}",
        outside.join("\n")
    );
}

/// `cargo leakcheck` reads and writes the formats through leakcheck-format
/// and links no allocator: neither leakcheck-rt nor the engine is in its
/// graph.
#[test]
fn cargo_leakcheck_links_the_formats_and_no_allocator() {
    let linked = linked_from(&["cargo-leakcheck"]);
    let names: BTreeSet<&str> = linked.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains("leakcheck-format"), "{names:?}");
    for allocator in ["leakcheck-rt", "leakcheck-engine"] {
        let path = linked.iter().find(|(n, _)| n == allocator);
        assert!(path.is_none(), "cargo-leakcheck links {path:?}");
    }
}
