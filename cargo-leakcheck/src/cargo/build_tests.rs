use std::collections::HashMap;
use std::path::PathBuf;

use clap::Parser;

use super::*;
use crate::cli::Cargo;

fn opts(line: &str) -> BuildSettings {
    match Cargo::try_parse_from(line.split_whitespace()) {
        Ok(Cargo::Leakcheck(o)) => BuildSettings::from_opts(&o),
        Err(e) => panic!("{e}"),
    }
}

fn workspace() -> Workspace {
    Workspace {
        root: "/ws".into(),
        target_dir: "/ws/target/leakcheck".into(),
        packages: HashMap::new(),
        test_targets: Vec::new(),
        test_sources: Vec::new(),
        renamed: Vec::new(),
        binary_ids: Vec::new(),
        doctests: Vec::new(),
        installs_itself: false,
    }
}

fn strings(args: Vec<OsString>) -> Vec<String> {
    args.into_iter().map(|a| a.into_string().unwrap()).collect()
}

#[test]
fn the_build_command_forwards_selection_and_build_flags() {
    let o = opts(
        "cargo leakcheck -p a --test t -F x --release --locked --target-dir /elsewhere mytest -- --ignored",
    );
    let args = strings(cargo_args(&o, &workspace(), ColorChoice::Never));
    assert_eq!(
        args[..args.len() - 2 * OPTIMISED_PACKAGES.len()],
        [
            "test",
            "--no-run",
            "--message-format=json-render-diagnostics",
            "--color",
            "never",
            "--target-dir",
            "/ws/target/leakcheck",
            "--package",
            "a",
            "--test",
            "t",
            "--features",
            "x",
            "--release",
            "--locked",
        ]
    );
    let quiet = strings(cargo_args(
        &opts("cargo leakcheck -q"),
        &workspace(),
        ColorChoice::Auto,
    ));
    assert!(quiet.contains(&"--quiet".to_owned()));
    let verbose = strings(cargo_args(
        &opts("cargo leakcheck -vvv"),
        &workspace(),
        ColorChoice::Auto,
    ));
    assert!(verbose.contains(&"-vv".to_owned()));
}

#[test]
fn the_runtime_is_built_optimised_in_the_profile_used() {
    let config = |line: &str| -> Vec<String> {
        let args = strings(cargo_args(&opts(line), &workspace(), ColorChoice::Never));
        args.windows(2)
            .filter(|w| w[0] == "--config")
            .map(|w| w[1].clone())
            .collect()
    };
    let default = config("cargo leakcheck");
    assert_eq!(default.len(), OPTIMISED_PACKAGES.len());
    assert_eq!(default[0], "profile.test.package.leakcheck-rt.opt-level=3");
    assert!(default.contains(&"profile.test.package.leakcheck-engine.opt-level=3".to_owned()));
    assert!(default.contains(&"profile.test.package.backtrace.opt-level=3".to_owned()));
    assert!(default.contains(&"profile.test.package.gimli.opt-level=3".to_owned()));
    assert!(
        config("cargo leakcheck --release")
            .contains(&"profile.release.package.leakcheck-rt.opt-level=3".to_owned())
    );
    assert!(
        config("cargo leakcheck --profile fast-ci")
            .contains(&"profile.fast-ci.package.leakcheck-rt.opt-level=3".to_owned())
    );
    // Only the runtime and the symbolisation crates: never the user's.
    assert!(default.iter().all(|c| !c.contains("\"*\"")));
}

fn env_of(line: &str, vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    cargo_env(&opts(line), |k| vars.get(k).cloned())
}

#[test]
fn rustflags_are_left_to_the_user() {
    // Frame pointers come from the rustc wrapper; the user's rustflags,
    // wherever they are set, stay as they are.
    assert_eq!(env_of("cargo leakcheck", &[]), []);
    assert_eq!(env_of("cargo leakcheck", &[("RUSTFLAGS", "--cfg foo")]), []);
    assert_eq!(
        env_of(
            "cargo leakcheck",
            &[("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1ffoo")]
        ),
        []
    );
}

#[test]
fn optimised_profiles_keep_line_tables() {
    let debug = |line: &str, vars: &[(&str, &str)]| -> Vec<(String, String)> {
        env_of(line, vars)
            .into_iter()
            .filter(|(k, _)| k.starts_with("CARGO_PROFILE"))
            .collect()
    };
    assert_eq!(
        debug("cargo leakcheck --release", &[]),
        [("CARGO_PROFILE_RELEASE_DEBUG".into(), "limited".into())]
    );
    assert_eq!(
        debug("cargo leakcheck --profile fast-ci", &[]),
        [("CARGO_PROFILE_FAST_CI_DEBUG".into(), "limited".into())]
    );
    assert!(debug("cargo leakcheck", &[]).is_empty());
    assert!(debug("cargo leakcheck --profile dev", &[]).is_empty());
    // The user's own choice stands.
    assert!(
        debug(
            "cargo leakcheck -r",
            &[("CARGO_PROFILE_RELEASE_DEBUG", "full")]
        )
        .is_empty()
    );
}

fn artifact(package: &str, name: &str, kind: &str, test: bool, exe: Option<&str>) -> String {
    let exe = exe.map_or("null".to_owned(), |e| format!("\"{e}\""));
    format!(
        r#"{{"reason":"compiler-artifact","package_id":"path+file:///ws/{package}#0.1.0","manifest_path":"/ws/{package}/Cargo.toml","target":{{"kind":["{kind}"],"crate_types":["{kind}"],"name":"{name}","src_path":"/ws/{package}/src/lib.rs","edition":"2024","doc":true,"doctest":false,"test":true}},"profile":{{"opt_level":"0","debuginfo":2,"debug_assertions":true,"overflow_checks":true,"test":{test}}},"features":[],"filenames":[],"executable":{exe},"fresh":false}}"#
    )
}

#[test]
fn test_executables_are_named_by_nextests_binary_ids() {
    let stream = [
        artifact("fixture", "fixture", "lib", false, None),
        artifact(
            "fixture",
            "fixture",
            "lib",
            true,
            Some("/ws/target/leakcheck/debug/deps/fixture-1"),
        ),
        artifact(
            "fixture",
            "fixture",
            "bin",
            true,
            Some("/ws/target/leakcheck/debug/deps/fixture-2"),
        ),
        // The binary itself, not its tests.
        artifact(
            "fixture",
            "fixture",
            "bin",
            false,
            Some("/ws/target/leakcheck/debug/fixture"),
        ),
        artifact(
            "other-crate",
            "registry",
            "test",
            true,
            Some("/ws/target/leakcheck/debug/deps/registry-3"),
        ),
        artifact(
            "other-crate",
            "other_crate",
            "lib",
            true,
            Some("/ws/target/leakcheck/debug/deps/other_crate-4"),
        ),
        artifact(
            "other-crate",
            "demo",
            "example",
            true,
            Some("/ws/target/leakcheck/debug/examples/demo-5"),
        ),
        artifact(
            "derive",
            "derive_impl",
            "proc-macro",
            true,
            Some("/ws/target/leakcheck/debug/deps/derive_impl-6"),
        ),
        artifact(
            "other-crate",
            "throughput",
            "bench",
            true,
            Some("/ws/target/leakcheck/debug/deps/throughput-7"),
        ),
        "warning: not json".to_owned(),
        r#"{"reason":"build-finished","success":true}"#.to_owned(),
    ]
    .join("\n");
    let mut ws = workspace();
    for package in ["fixture", "other-crate", "derive"] {
        ws.packages.insert(
            cargo_metadata::PackageId {
                repr: format!("path+file:///ws/{package}#0.1.0"),
            },
            (package.into(), format!("/ws/{package}").into()),
        );
    }
    let (bins, _) = collect(stream.as_bytes(), &ws);
    let summary: Vec<(&str, &str, PathBuf)> = bins
        .iter()
        .map(|b| (b.name.as_str(), b.package.as_str(), b.package_root.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("derive", "derive", PathBuf::from("/ws/derive")),
            ("fixture", "fixture", PathBuf::from("/ws/fixture")),
            (
                "fixture::bin/fixture",
                "fixture",
                PathBuf::from("/ws/fixture")
            ),
            (
                "other-crate",
                "other-crate",
                PathBuf::from("/ws/other-crate")
            ),
            (
                "other-crate::bench/throughput",
                "other-crate",
                PathBuf::from("/ws/other-crate")
            ),
            (
                "other-crate::example/demo",
                "other-crate",
                PathBuf::from("/ws/other-crate")
            ),
            (
                "other-crate::registry",
                "other-crate",
                PathBuf::from("/ws/other-crate")
            ),
        ]
    );
    assert_eq!(
        bins[6].path,
        PathBuf::from("/ws/target/leakcheck/debug/deps/registry-3")
    );
}

#[test]
fn a_binarys_name_does_not_depend_on_what_else_is_built() {
    // `-p server` builds server's `tests/api.rs` only; client has one too,
    // and a run of the whole workspace names it the same.
    let server = artifact(
        "server",
        "api",
        "test",
        true,
        Some("/ws/target/leakcheck/debug/deps/api-1"),
    );
    let client = artifact(
        "client",
        "api",
        "test",
        true,
        Some("/ws/target/leakcheck/debug/deps/api-2"),
    );
    let mut ws = workspace();
    for package in ["server", "client"] {
        ws.packages.insert(
            cargo_metadata::PackageId {
                repr: format!("path+file:///ws/{package}#0.1.0"),
            },
            (package.into(), format!("/ws/{package}").into()),
        );
    }
    let (alone, _) = collect(server.as_bytes(), &ws);
    let (both, _) = collect(format!("{client}\n{server}").as_bytes(), &ws);
    assert_eq!(alone[0].name, "server::api");
    let names: Vec<&str> = both.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["client::api", "server::api"]);
}

#[test]
fn the_bench_builds_the_same_packages_optimised() {
    // The bench builds its debug-build rows as `cargo leakcheck` does,
    // without linking cargo-leakcheck: its copy of the list must match.
    let bench = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../leakcheck-bench/benches/compare.rs"),
    )
    .unwrap();
    let start = bench
        .find("const OPTIMISED_PACKAGES")
        .expect("the bench's list");
    let list = &bench[start..start + bench[start..].find("];").unwrap()];
    let copied: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
    assert_eq!(copied, OPTIMISED_PACKAGES);
}
