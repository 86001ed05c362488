use leakcheck_format::report::SessionSite;

use super::*;
use crate::outcome::BinaryOutcome;
use crate::outcome::SessionAnalysis;

fn site(binary: &str, line: u32, growth: bool) -> SessionSite {
    SessionSite {
        retained_by: Vec::new(),
        binary: binary.into(),
        file: "src/lib.rs".into(),
        line,
        function: "registry::setup".into(),
        size_diff: 3 * 4096,
        count_diff: 3,
        tests: vec!["a".into(), "b".into(), "c".into()],
        growth,
        known: None,
        accepted: false,
    }
}

fn outcome(binary: &str, sites: Vec<SessionSite>) -> RunOutcome {
    RunOutcome {
        binaries: vec![BinaryOutcome {
            binary: binary.into(),
            instrumented: true,
            session: SessionAnalysis {
                sites,
                ..SessionAnalysis::default()
            },
            ..BinaryOutcome::default()
        }],
    }
}

fn entry(binary: &str, line: u32) -> AcceptedSite {
    AcceptedSite {
        binary: binary.into(),
        file: "src/lib.rs".into(),
        line,
        function: "registry::setup".into(),
        reason: None,
    }
}

#[test]
fn the_file_round_trips_sorted_and_without_duplicates() {
    let text = r#"
[[session.accept]]
binary = "suite"
file = "src/lib.rs"
line = 9
reason = "one plugin per test"

[[session.accept]]
binary = "exact"
file = "src/lib.rs"
line = 9

[[session.accept]]
binary = "suite"
file = "src/lib.rs"
line = 9
"#;
    let accepted = parse(text).unwrap();
    assert_eq!(accepted.sites.len(), 2);
    assert_eq!(accepted.sites[0].binary, "exact");
    let rendered = render(&accepted);
    assert!(rendered.starts_with("# Session growth accepted as known"));
    assert!(
        rendered.ends_with(
            "\n[[session.accept]]\nbinary = \"suite\"\nfile = \"src/lib.rs\"\nline = 9\n\
             reason = \"one plugin per test\"\n"
        ),
        "{rendered}"
    );
    assert_eq!(parse(&rendered).unwrap(), accepted);
    assert_eq!(parse("").unwrap(), Accepted::default());
}

#[test]
fn a_bad_file_is_one_line_naming_the_line() {
    for (text, needle) in [
        ("[[session.accept]]\nbinary = \"x\"\n", "missing field"),
        (
            "[[session.accept]]\nbinary = \"x\"\nfile = \"f\"\nline = 1\ncolour = 1\n",
            "colour",
        ),
        ("[session\n", "line 1"),
        ("[other]\n", "other"),
    ] {
        let err = parse(text).unwrap_err();
        assert!(err.contains(needle), "{text:?}: {err}");
        assert!(!err.contains('\n'), "{text:?}: {err}");
    }
}

#[test]
fn a_parse_error_names_the_line_it_is_on() {
    let text =
        "# accepted\n\n[[session.accept]]\nbinary = \"x\"\nfile = \"f\"\nline = 1\ncolour = 1\n";
    let err = parse(text).unwrap_err();
    assert!(err.starts_with("line 7: unknown field `colour`"), "{err}");
    let err = parse("[[session.accept]]\nbinary = \"x\"\nline = \"nine\"\n").unwrap_err();
    assert!(err.starts_with("line 3: "), "{err}");
}

#[test]
fn accepted_growth_passes_and_a_vanished_site_is_stale() {
    let accepted = Accepted {
        sites: vec![entry("suite", 9), entry("suite", 20), entry("other", 1)],
    };
    let mut elsewhere = site("suite", 30, true);
    elsewhere.function = "registry::other".into();
    let mut run = outcome("suite", vec![site("suite", 9, true), elsewhere]);
    let applied = apply(&accepted, &mut run, false);
    let sites = &run.binaries[0].session.sites;
    assert!(sites[0].accepted && !sites[0].fails());
    assert!(!sites[1].accepted && sites[1].fails());
    // Line 20 no longer grows; `other` did not run, so it is not judged.
    assert_eq!(applied.stale, [entry("suite", 20)]);
    assert!(applied.moved.is_empty());
    assert!(stale_note(&applied.stale[0]).contains("src/lib.rs:20 in suite no longer grows"));
    // A filtered run judges nothing stale.
    let mut run = outcome("suite", vec![]);
    assert_eq!(apply(&accepted, &mut run, true), Applied::default());
}

#[test]
fn an_accepted_site_that_moved_passes_and_is_named() {
    let mut registry = entry("suite", 9);
    registry.file = "registry-1.2.3/src/lib.rs".into();
    let accepted = Accepted {
        sites: vec![entry("suite", 20), registry],
    };
    let mut bumped = site("suite", 9, true);
    bumped.file = "registry-1.2.4/src/lib.rs".into();
    let mut run = outcome("suite", vec![site("suite", 21, true), bumped]);
    let applied = apply(&accepted, &mut run, false);
    assert!(run.binaries[0].session.sites.iter().all(|s| s.accepted));
    assert!(applied.stale.is_empty(), "{applied:?}");
    assert_eq!(
        applied.moved,
        [
            "accepted site moved: src/lib.rs:20 → 21 in suite",
            "accepted site moved: registry-1.2.3/src/lib.rs:9 → registry-1.2.4/src/lib.rs:9 in suite"
        ]
    );
    // Another function at the accepted line is another site; an entry
    // without a function is matched at its line only.
    let mut other = site("suite", 20, true);
    other.function = "registry::other".into();
    let mut bare = entry("suite", 20);
    bare.function.clear();
    for (entry, site) in [(entry("suite", 20), other), (bare, site("suite", 21, true))] {
        let accepted = Accepted { sites: vec![entry] };
        let mut run = outcome("suite", vec![site]);
        let applied = apply(&accepted, &mut run, false);
        assert!(!run.binaries[0].session.sites[0].accepted);
        assert_eq!(applied.stale.len(), 1);
    }
}

#[test]
fn accept_all_rewrites_this_runs_binaries_and_keeps_reasons() {
    let mut kept = entry("suite", 9);
    kept.reason = Some("bounded".into());
    let old = Accepted {
        sites: vec![kept.clone(), entry("suite", 20), entry("other", 1)],
    };
    let mut known = site("suite", 40, true);
    known.known = Some("insta's process-wide registries".into());
    let run = outcome(
        "suite",
        vec![
            site("suite", 9, true),
            site("suite", 30, true),
            site("suite", 50, false),
            known,
        ],
    );
    let new = accept_all(&old, &run, false);
    assert_eq!(
        new.sites,
        [entry("other", 1), kept.clone(), entry("suite", 30)]
    );
    // Filtered: old entries of the run's binaries stay.
    let new = accept_all(&old, &run, true);
    assert_eq!(
        new.sites,
        [
            entry("other", 1),
            kept,
            entry("suite", 20),
            entry("suite", 30)
        ]
    );
}

#[test]
fn written_and_removed_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let accepted = Accepted {
        sites: vec![entry("suite", 9)],
    };
    write(dir.path(), &accepted).unwrap();
    assert_eq!(load(dir.path()).unwrap(), accepted);
    write(dir.path(), &Accepted::default()).unwrap();
    assert!(!path(dir.path()).exists());
    assert_eq!(load(dir.path()).unwrap(), Accepted::default());
    // Removing a file that is not there is fine.
    write(dir.path(), &Accepted::default()).unwrap();
    std::fs::write(path(dir.path()), "line = ").unwrap();
    let err = load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(".config/leakcheck-accepted.toml: line 1"),
        "{err}"
    );
}

#[test]
fn an_entry_under_a_binarys_old_name_names_the_new_key() {
    let renamed = vec![
        ("suite".to_owned(), "registry::suite".to_owned()),
        ("api".to_owned(), "server::api".to_owned()),
    ];
    let accepted = |binaries: &[&str]| Accepted {
        sites: sorted(binaries.iter().map(|b| entry(b, 9)).collect()),
    };
    assert_eq!(
        check_names(&accepted(&["registry::suite", "registry"]), &renamed),
        Ok(())
    );
    assert_eq!(
        check_names(&accepted(&["registry", "suite"]), &renamed),
        Err(
            "the entry for src/lib.rs:9 names binary `suite`, which is now named \
             `binary = \"registry::suite\"` (binaries are named as nextest names them): \
             rename it"
                .to_owned()
        )
    );
}

#[cfg(unix)]
#[test]
fn accept_keeps_the_file_s_mode_and_writes_through_a_symlink() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let accepted = Accepted {
        sites: vec![entry("suite", 9)],
    };
    // A new file: the mode of any file the user creates.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &accepted).unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "x").unwrap();
    assert_eq!(mode(&path(dir.path())), mode(&plain));
    // An existing file keeps its mode.
    std::fs::set_permissions(path(dir.path()), std::fs::Permissions::from_mode(0o640)).unwrap();
    write(dir.path(), &accepted).unwrap();
    assert_eq!(mode(&path(dir.path())), 0o640);
    // A symlink stays one; the file it leads to gets the text.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".config")).unwrap();
    let kept = dir.path().join("kept.toml");
    symlink(&kept, path(dir.path())).unwrap();
    write(dir.path(), &accepted).unwrap();
    assert!(
        std::fs::symlink_metadata(path(dir.path()))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        parse(&std::fs::read_to_string(&kept).unwrap()).unwrap(),
        accepted
    );
    write(dir.path(), &Accepted::default()).unwrap();
    assert!(std::fs::symlink_metadata(path(dir.path())).is_ok());
    assert_eq!(
        parse(&std::fs::read_to_string(&kept).unwrap()).unwrap(),
        Accepted::default()
    );
}
