use super::*;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The arguments cargo gives rustc for an integration test target.
fn test_crate(extra: &[&str]) -> Vec<OsString> {
    let mut args = vec![
        "--crate-name",
        "plain",
        "--edition=2021",
        "tests/plain.rs",
        "--emit=dep-info,link",
        "--test",
        "-C",
        "metadata=cc2064b9c073c7cf",
        "-C",
        "extra-filename=-7ffc2eb447239a5c",
        "--out-dir",
        "/w/target/leakcheck/debug/deps",
        "-L",
        "dependency=/w/target/leakcheck/debug/deps",
        "--extern",
        "unchanged=/w/target/leakcheck/debug/deps/libunchanged-9d966f8011b9391c.rlib",
    ];
    args.extend(extra);
    os(&args)
}

#[test]
fn only_test_crates_of_the_selected_packages_without_leakcheck_get_the_runtime() {
    assert!(wanted(&test_crate(&[]), true, Path::new("/w"), &[]));
    // A dependency, or a package not selected.
    assert!(!wanted(&test_crate(&[]), false, Path::new("/w"), &[]));
    // A crate that links leakcheck-rt is wanted too (a dev-dependency is
    // passed to every test target, whether it installs it or not).
    let own = test_crate(&["--extern", "leakcheck_rt=/w/libleakcheck_rt-1.rlib"]);
    assert!(wanted(&own, true, Path::new("/w"), &[]));
    assert!(links_leakcheck(&own));
    let own = test_crate(&["--extern=leakcheck_rt=/w/libleakcheck_rt-1.rlib"]);
    assert!(links_leakcheck(&own));
    assert!(!links_leakcheck(&test_crate(&[])));
    // A library, a build script: no `--test`.
    let lib = os(&[
        "--crate-name",
        "unchanged",
        "src/lib.rs",
        "--crate-type",
        "lib",
    ]);
    assert!(!wanted(&lib, true, Path::new("/w"), &[]));
    let build = os(&["--crate-name", "build_script_build", "build.rs"]);
    assert!(!wanted(&build, true, Path::new("/w"), &[]));

    // A `harness = false` integration test is built as a binary, as the
    // package's own binaries are: it is told apart by its source.
    let custom = os(&[
        "--crate-name",
        "custom",
        "tests/custom.rs",
        "--crate-type",
        "bin",
    ]);
    let tests = [PathBuf::from("/w/tests/custom.rs")];
    assert!(wanted(&custom, true, Path::new("/w"), &tests));
    let bin = os(&["--crate-name", "tool", "src/main.rs", "--crate-type", "bin"]);
    assert!(!wanted(&bin, true, Path::new("/w"), &tests));
    assert!(!wanted(&custom, true, Path::new("/elsewhere"), &tests));
    assert!(!wanted(&custom, false, Path::new("/w"), &tests));
}

#[test]
fn the_runtime_is_forced_in_with_its_dependencies() {
    let (rlib, deps) = (
        Path::new("/r/libleakcheck_inject.rlib"),
        Path::new("/r/deps"),
    );
    assert_eq!(
        injected_args(rlib, deps),
        os(&[
            "-Z",
            "unstable-options",
            "--extern",
            "force:leakcheck_inject=/r/libleakcheck_inject.rlib",
            "-L",
            "dependency=/r/deps",
        ])
    );
    // The stable route's copy names it: no unstable option.
    assert_eq!(
        extern_args(rlib, deps),
        os(&[
            "--extern",
            "leakcheck_inject=/r/libleakcheck_inject.rlib",
            "-L",
            "dependency=/r/deps",
        ])
    );
}

#[test]
fn the_binary_is_named_as_cargo_names_it() {
    assert_eq!(
        output_file(&test_crate(&[])),
        Some(PathBuf::from(
            "/w/target/leakcheck/debug/deps/plain-7ffc2eb447239a5c"
        ))
    );
    assert_eq!(output_file(&os(&["--crate-name", "x"])), None);
}

#[test]
fn rustcs_refusal_for_an_allocator_of_the_crate_s_own_is_recognised() {
    let stderr = r#"{"$message_type":"diagnostic","message":"the `#[global_allocator]` in this crate conflicts with global allocator in: leakcheck_inject","code":null,"level":"error"}"#;
    assert!(has_own_allocator(stderr));
    assert!(!has_own_allocator("error[E0425]: cannot find value `x`"));
}

#[test]
fn an_own_allocator_is_found_from_the_dep_info_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("own.rs");
    std::fs::write(
        &src,
        "use std::alloc::System;\n\n#[global_allocator]\nstatic GLOBAL: System = System;\n",
    )
    .unwrap();
    let binary = dir.path().join("own-1234");
    std::fs::write(
        binary.with_extension("d"),
        format!(
            "{}: {}\n\n{}:\n",
            binary.display(),
            src.display(),
            src.display()
        ),
    )
    .unwrap();
    let site = own_allocator_site(&binary).unwrap();
    assert_eq!(
        site,
        format!("{}:4: static GLOBAL: System = System;", src.display())
    );

    let notes = dir.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    let note = Notes::new(&notes, &binary);
    note.own_allocator(&binary, &site);
    // A note whose name does not match the binary it names is not read.
    std::fs::write(notes.join("other-1.own-allocator"), "/x/other-2\n\n").unwrap();
    assert_eq!(own_allocators(&notes), [(binary.clone(), site)]);
    assert_eq!(not_checked(&notes), []);

    // A rebuild forgets what the last build said.
    note.clear();
    note.not_checked(&binary, "a `#![no_std]` crate root");
    assert_eq!(own_allocators(&notes), []);
    assert_eq!(
        not_checked(&notes),
        [(binary, "a `#![no_std]` crate root".to_owned())]
    );
}

#[test]
fn a_refusal_is_told_by_rustcs_first_error() {
    assert_eq!(
        refusal(
            "warning: unused\nerror[E0152]: found duplicate lang item `panic_impl`\nerror: aborting\n"
        ),
        "rustc could not link leakcheck's runtime into it \
         (error[E0152]: found duplicate lang item `panic_impl`)"
    );
    assert_eq!(
        refusal(""),
        "rustc could not link leakcheck's runtime into it (rustc failed)"
    );
}

#[test]
fn roots_without_std_or_main_are_not_given_the_runtime() {
    let no_std = "//! Doc.\n#![no_std]\n\nfn main() {}\n";
    assert_eq!(
        unsuited(no_std, false),
        Some("a `#![no_std]` crate root (leakcheck's runtime needs std)")
    );
    // libtest links std: a `no_std` library's tests have it.
    assert_eq!(unsuited(no_std, true), None);
    let no_main = "#![ no_main ]\n#[no_mangle]\npub extern \"C\" fn main() {}\n";
    assert_eq!(
        unsuited(no_main, false),
        Some("a `#![no_main]` crate root (an entry point of its own: left as it is)")
    );
    assert_eq!(unsuited("#![cfg_attr(not(test), no_std)]\n", false), None);
    assert_eq!(
        unsuited("// #![no_std] some day\nfn main() {}\n", false),
        None
    );
}

#[test]
fn the_runtime_becomes_an_input_of_the_binary_for_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("deps/plain-1");
    std::fs::create_dir(dir.path().join("deps")).unwrap();
    let dep_info = format!(
        "{b}.d: tests/plain.rs\n\n{b}: tests/plain.rs\n\ntests/plain.rs:\n",
        b = binary.display()
    );
    std::fs::write(binary.with_extension("d"), &dep_info).unwrap();
    let rlib = Path::new("/r/libleakcheck_inject.rlib");
    depend_on_runtime(&binary, rlib);
    depend_on_runtime(&binary, rlib);
    let text = std::fs::read_to_string(binary.with_extension("d")).unwrap();
    assert_eq!(
        text,
        format!(
            "{b}.d: tests/plain.rs /r/libleakcheck_inject.rlib\n\n\
             {b}: tests/plain.rs /r/libleakcheck_inject.rlib\n\n\
             tests/plain.rs:\n\n/r/libleakcheck_inject.rlib:\n",
            b = binary.display()
        )
    );
}
