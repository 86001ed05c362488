use super::*;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// A workspace: a root file with a module beside it, a README above.
fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("tests/common")).unwrap();
    std::fs::write(ws.path().join("README.md"), "readme").unwrap();
    std::fs::write(ws.path().join("Cargo.toml"), "[package]").unwrap();
    std::fs::write(
        ws.path().join("tests/plain.rs"),
        "#![allow(dead_code)]\nmod common;\n// ends without a newline",
    )
    .unwrap();
    std::fs::write(ws.path().join("tests/common/mod.rs"), "pub fn f() {}\n").unwrap();
    ws
}

#[test]
fn the_copy_sits_in_a_shadow_that_reaches_the_users_files() {
    let ws = workspace();
    let roots = tempfile::tempdir().unwrap();
    let args = os(&["--crate-name", "plain", "tests/plain.rs", "--test"]);
    let shadow = Shadow::create(&args, ws.path(), roots.path(), OsStr::new("plain-1")).unwrap();
    let dir = roots.path().join(format!("{}-plain-1", std::process::id()));

    // The copy: the original, a newline, the one line; lines keep their
    // numbers.
    let copy = dir.join("tests/plain.rs");
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        "#![allow(dead_code)]\nmod common;\n// ends without a newline\n\
         extern crate leakcheck_inject as _;\n"
    );
    // Everything else is the user's, through links.
    assert_eq!(
        std::fs::read_to_string(dir.join("tests/common/mod.rs")).unwrap(),
        "pub fn f() {}\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("tests/../README.md")).unwrap(),
        "readme"
    );
    assert!(
        std::fs::symlink_metadata(dir.join("Cargo.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // The root is the copy, and names in rustc's output stay relative.
    let mut expected = os(&["--crate-name", "plain"]);
    expected.push(copy.clone().into_os_string());
    expected.push("--test".into());
    expected.push(format!("--remap-path-prefix={}/=", dir.display()).into());
    assert_eq!(shadow.args(), expected);

    // The dep-info rustc writes names the user's files.
    let dep_info = ws.path().join("plain-1.d");
    std::fs::write(
        &dep_info,
        format!(
            "/t/plain-1: {d}/tests/plain.rs {d}/tests/common/mod.rs\n\n{d}/tests/plain.rs:\n",
            d = dir.display()
        ),
    )
    .unwrap();
    shadow.rewrite_dep_info(&dep_info);
    assert_eq!(
        std::fs::read_to_string(&dep_info).unwrap(),
        "/t/plain-1: tests/plain.rs tests/common/mod.rs\n\ntests/plain.rs:\n"
    );

    // Gone when rustc has run; the user's files are as they were.
    drop(shadow);
    assert!(!dir.exists());
    assert_eq!(
        std::fs::read_to_string(ws.path().join("tests/plain.rs")).unwrap(),
        "#![allow(dead_code)]\nmod common;\n// ends without a newline"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("README.md")).unwrap(),
        "readme"
    );
}

#[test]
fn an_absolute_root_is_remapped_to_its_directory() {
    let ws = workspace();
    let roots = tempfile::tempdir().unwrap();
    let root = ws.path().join("tests/plain.rs");
    let args = vec![OsString::from("--test"), root.into_os_string()];
    let elsewhere = tempfile::tempdir().unwrap();
    let shadow = Shadow::create(&args, elsewhere.path(), roots.path(), OsStr::new("p")).unwrap();
    let dir = roots.path().join(format!("{}-p", std::process::id()));
    assert_eq!(
        shadow.args().last().unwrap(),
        &OsString::from(format!(
            "--remap-path-prefix={}/={}/",
            dir.display(),
            ws.path().join("tests").display()
        ))
    );
    assert!(dir.join("plain.rs").is_file());
    assert!(dir.join("common/mod.rs").is_file());
}

#[test]
fn only_shadows_of_ended_builds_are_removed() {
    let roots = tempfile::tempdir().unwrap();
    let mine = roots.path().join(format!("{}-plain-1", std::process::id()));
    // No process has this pid (above Linux's pid_max).
    let stale = roots.path().join("4294967295-plain-1");
    let odd = roots.path().join("no-pid");
    for dir in [&mine, &stale, &odd] {
        std::fs::create_dir(dir).unwrap();
    }
    remove_stale(roots.path());
    assert!(mine.exists());
    assert!(!stale.exists());
    assert!(!odd.exists());
}
