//! The module structure of each crate: no two files import each other,
//! directly or round a circle, and a `mod.rs` only declares its children.
//! Reads the sources (`leakcheck_tests::architecture`); builds nothing.

use std::collections::BTreeSet;

use leakcheck_tests::architecture::{
    cycles, describe, import_graph, mod_rs_with_code, read_sources,
};
use leakcheck_tests::workspace_root;

/// Workspace members not checked yet, each with the reason. A crate that
/// is not listed here is checked.
const EXEMPT: &[&str] = &[
    // The end-to-end tests' own helpers, not a part of the product.
    "tests",
    // Benchmarks, not a part of the product.
    "leakcheck-bench",
];

/// The workspace members' directories, from the root `Cargo.toml`.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("a members line");
    let list = &line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()];
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect()
}

fn checked() -> Vec<String> {
    let members = members();
    for exempt in EXEMPT {
        assert!(
            members.iter().any(|m| m == exempt),
            "{exempt} is exempt but is no workspace member"
        );
    }
    let checked: Vec<String> = members
        .into_iter()
        .filter(|m| !EXEMPT.contains(&m.as_str()))
        .collect();
    for name in ["cargo-leakcheck", "leakcheck-macros"] {
        assert!(checked.iter().any(|m| m == name), "{name} is checked");
    }
    checked
}

#[test]
fn no_crate_has_a_circle_of_imports() {
    let mut found = Vec::new();
    for member in checked() {
        let sources = read_sources(&workspace_root().join(&member).join("src"));
        let graph = import_graph(&sources);
        let reached: BTreeSet<_> = graph.keys().collect();
        for file in sources.keys() {
            assert!(
                reached.contains(file) || file == "main.rs",
                "{member}/src/{file} is no module of the crate"
            );
        }
        for circle in cycles(&graph) {
            found.push(format!("{member}/src: {}", describe(&circle)));
        }
    }
    assert!(
        found.is_empty(),
        "circles of imports:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_mod_rs_only_declares() {
    let mut found = Vec::new();
    for member in checked() {
        let sources = read_sources(&workspace_root().join(&member).join("src"));
        for (file, what) in mod_rs_with_code(&sources) {
            found.push(format!("{member}/src/{file}: {what}"));
        }
    }
    assert!(
        found.is_empty(),
        "a mod.rs holds more than `mod`, `pub use`, docs and attributes:\n{}",
        found.join("\n")
    );
}

/// cargo-leakcheck's layers, lowest first: a file imports only from its
/// own layer or below. Entries are prefixes of paths under `src/` (a
/// module's unit-test file goes with its module); the longest wins.
const CARGO_LEAKCHECK_LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation: the error type and exit codes, names of signals and binaries, shards",
        &["errors", "signals", "binary_id", "partition"],
    ),
    (
        "settings: the command line, the config file, the resolved settings",
        &["cli/", "config", "settings"],
    ),
    (
        "findings: what a run found, and the growth accepted as known",
        &["outcome", "accepted"],
    ),
    (
        "work: building, running, rendering, the terminal, reviewing, diff's parts",
        &[
            "cargo/",
            "run/",
            "render/",
            "ui",
            "review",
            "diff/finding",
            "diff/inputs",
            "diff/render",
            "launch/program",
        ],
    ),
    (
        "commands: a run, a merge, a diff",
        &[
            "exec",
            "merge",
            "diff/run",
            "diff/mod",
            "launch/run",
            "launch/mod",
        ],
    ),
    ("the crate root", &["lib.rs", "main.rs"]),
];

fn layer_of(file: &str) -> Option<usize> {
    CARGO_LEAKCHECK_LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, prefixes))| prefixes.iter().map(move |p| (i, *p)))
        .filter(|(_, p)| file.starts_with(p))
        .max_by_key(|(_, p)| p.len())
        .map(|(i, _)| i)
}

#[test]
fn cargo_leakcheck_imports_only_downwards() {
    let sources = read_sources(&workspace_root().join("cargo-leakcheck/src"));
    let graph = import_graph(&sources);
    let mut found = Vec::new();
    for (file, targets) in &graph {
        let Some(from) = layer_of(file) else {
            found.push(format!("{file} is in no layer of CARGO_LEAKCHECK_LAYERS"));
            continue;
        };
        for target in targets {
            let to = layer_of(target).expect("every file has a layer");
            if to > from {
                found.push(format!(
                    "{file} ({}) imports {target} ({})",
                    CARGO_LEAKCHECK_LAYERS[from].0, CARGO_LEAKCHECK_LAYERS[to].0
                ));
            }
        }
    }
    assert!(found.is_empty(), "imports upwards:\n{}", found.join("\n"));
}
