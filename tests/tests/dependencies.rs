//! What a test binary links by depending on leakcheck-rt. Every crate in
//! that graph is visible to the user's code, and a trait impl on a std type
//! in any of them can change type inference there (serde_json's
//! `impl PartialEq<Value> for u8` broke `assert_eq!(bytes[0], 1.into())`;
//! `leakcheck-rt/tests/inference.rs` checks the effect itself).
//!
//! Runs `cargo tree` offline on the workspace's lockfile.

use std::collections::BTreeSet;
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
/// i8/i32/u8` (miniz_oxide's deflate module, not even compiled: backtrace
/// turns off its `with-alloc` feature), `From<U16<E>> for u16` and the like and `From<VersionIndex> for
/// usize` (object 0.40), all on types that already have several impls of
/// the trait, so no inference changes. A crate that is added to the graph
/// must be read the same way, then added here.
const AUDITED: &[&str] = &[
    "addr2line",
    "adler2",
    "backtrace",
    "bitflags",
    "cfg-if",
    "console",
    "fastrand",
    "getrandom",
    "gimli",
    "glob",
    "insta",
    "leakcheck-engine",
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
