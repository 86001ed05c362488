//! A test binary's name: nextest's binary ID, which reports, snapshots and
//! `.config/leakcheck*.toml` use, and the name to write instead of one from
//! before binaries took those IDs.

/// The name of a test binary: nextest's binary ID
/// (`nextest_metadata::RustBinaryId::from_parts`, part of nextest's stable
/// API), so a binary is named as `cargo nextest run` names it. A library's
/// unit tests are the package (one library per package), an integration
/// test is `package::target`, anything else `package::kind/target`
/// (`bin/`, `example/`, `bench/`). Unique by construction, and the same
/// whichever packages `-p` selects.
pub fn binary_id(package: &str, kind: &str, target: &str) -> String {
    match kind {
        "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro" => package.to_owned(),
        "test" => format!("{package}::{target}"),
        _ => format!("{package}::{kind}/{target}"),
    }
}

/// When `binary` is a binary's name from before binaries took nextest's
/// binary IDs (and no binary's ID now), the key to write instead:
/// `` `binary = "ID"` ``, or several joined by "or" when the old name
/// was the name of two targets.
pub fn renamed_to(renamed: &[(String, String)], binary: &str) -> Option<String> {
    if renamed.iter().any(|(_, id)| id == binary) {
        return None;
    }
    let now: Vec<String> = renamed
        .iter()
        .filter(|(old, _)| old == binary)
        .map(|(_, id)| format!("`binary = \"{id}\"`"))
        .collect();
    (!now.is_empty()).then(|| now.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_ids_follow_nextest() {
        // nextest_metadata::RustBinaryId::from_parts's own examples.
        assert_eq!(binary_id("foo-lib", "lib", "foo_lib"), "foo-lib");
        assert_eq!(
            binary_id("foo-derive", "proc-macro", "derive"),
            "foo-derive"
        );
        assert_eq!(
            binary_id("foo-lib", "test", "foo_test"),
            "foo-lib::foo_test"
        );
        assert_eq!(
            binary_id("foo-lib", "bench", "foo_bench"),
            "foo-lib::bench/foo_bench"
        );
        assert_eq!(
            binary_id("foo-lib", "bin", "foo_bin"),
            "foo-lib::bin/foo_bin"
        );
        assert_eq!(binary_id("foo-lib", "example", "ex"), "foo-lib::example/ex");
        // Every library crate type names the package.
        for kind in ["rlib", "dylib", "cdylib", "staticlib"] {
            assert_eq!(binary_id("foo-lib", kind, "foo_lib"), "foo-lib");
        }
    }
}
