//! Each crate's docs open with a module map (a table in `lib.rs`); it must
//! name every top-level module of `src/` and nothing that is not there.

use std::collections::BTreeSet;

use leakcheck_tests::workspace_root;

/// The file and directory names in the first column of the module map.
fn mapped(lib_rs: &str) -> BTreeSet<String> {
    let start = lib_rs
        .find("//! | module | what it holds |")
        .expect("a module map");
    lib_rs[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("//! |"))
        .flat_map(|l| {
            let first = l.trim_start_matches("//! |").split(" | ").next().unwrap();
            first
                .split(", ")
                .map(|name| name.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The top-level modules of `src/`: `name.rs` files and `name/`
/// directories, without the crate root and the files of unit tests.
fn modules(src: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap())
        .filter_map(|e| {
            let name = e.file_name().into_string().unwrap();
            if e.file_type().unwrap().is_dir() {
                Some(format!("{name}/"))
            } else if name.ends_with(".rs")
                && !["lib.rs", "main.rs"].contains(&name.as_str())
                && !name.ends_with("_tests.rs")
            {
                Some(name)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn every_crate_s_module_map_matches_its_modules() {
    for krate in [
        "leakcheck-engine",
        "leakcheck-format",
        "leakcheck-rt",
        "leakcheck-macros",
        "cargo-leakcheck",
        "leakcheck-preload",
    ] {
        let src = workspace_root().join(krate).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        assert_eq!(
            mapped(&lib),
            modules(&src),
            "{krate}: the module map in lib.rs"
        );
    }
}
