use super::*;

fn report(sites: &[&str]) -> String {
    let mut text = "test: handle\nverdict: leak\n".to_owned();
    for site in sites {
        text.push_str(site);
        text.push('\n');
    }
    text
}

const AT_68: &str = "src/lib.rs:68  fixture::handle  leak  ~500 B/iter  ~1 blocks/iter";

#[test]
fn the_same_report_matches() {
    let accepted = report(&[AT_68]);
    assert_eq!(compare(&accepted, &accepted), Comparison::default());
}

#[test]
fn a_moved_site_matches_and_is_named() {
    let accepted = report(&[AT_68]);
    let now = report(&["src/lib.rs:69  fixture::handle  leak  ~500 B/iter  ~1 blocks/iter"]);
    let c = compare(&accepted, &now);
    assert!(c.matches(), "{c:?}");
    assert_eq!(c.moved, ["accepted site moved: src/lib.rs:68 → 69"]);
}

#[test]
fn another_release_of_a_registry_crate_matches() {
    let accepted = report(&[
        "somecrate-1.2.3/src/x.rs:10  somecrate::x::make  leak  ~500 B/iter  ~1 blocks/iter",
    ]);
    let now = report(&[
        "somecrate-1.2.4/src/x.rs:10  somecrate::x::make  leak  ~500 B/iter  ~1 blocks/iter",
    ]);
    let c = compare(&accepted, &now);
    assert!(c.matches(), "{c:?}");
    assert_eq!(
        c.moved,
        ["accepted site moved: somecrate-1.2.3/src/x.rs:10 → somecrate-1.2.4/src/x.rs:10"]
    );
}

#[test]
fn a_higher_rate_fails_with_old_and_new() {
    let accepted = report(&[AT_68]);
    let now = report(&["src/lib.rs:68  fixture::handle  leak  ~2000 B/iter  ~1 blocks/iter"]);
    let c = compare(&accepted, &now);
    assert_eq!(
        c.changes,
        ["accepted site grew: src/lib.rs:68 in fixture::handle: ~500 → ~2000 B/iter"]
    );
    // A lower one is within what was accepted.
    assert!(compare(&now, &accepted).matches());
}

#[test]
fn a_new_or_gone_site_fails_and_says_which() {
    let accepted = report(&[AT_68]);
    let other = "src/lib.rs:90  fixture::other  leak  ~100 B/iter  ~1 blocks/iter";
    let both = report(&[AT_68, other]);
    assert_eq!(
        compare(&accepted, &both).changes,
        ["new site: src/lib.rs:90 in fixture::other  ~100 B/iter"]
    );
    assert_eq!(
        compare(&both, &accepted).changes,
        ["accepted site gone: src/lib.rs:90 in fixture::other"]
    );
    // Another function at the same line is another site.
    let renamed = report(&["src/lib.rs:68  fixture::serve  leak  ~500 B/iter  ~1 blocks/iter"]);
    assert_eq!(compare(&accepted, &renamed).changes.len(), 2);
}

#[test]
fn a_clean_report_against_a_leak_fails() {
    let accepted = report(&[AT_68]);
    let clean = "test: handle\nverdict: clean\n";
    assert_eq!(
        compare(&accepted, clean).changes,
        [
            "verdict leak → clean",
            "accepted site gone: src/lib.rs:68 in fixture::handle"
        ]
    );
}

#[test]
fn other_text_is_compared_as_text() {
    let old = "fixed_cache: leak (2000 iters)\nleak  src/lib.rs:27  f  bytes/iter 20\n";
    assert!(compare(old, &old.replace('\n', "\r\n")).matches());
    assert!(!compare(old, "test: fixed_cache\nverdict: clean\n").matches());
}

#[test]
fn crate_versions_are_stripped() {
    assert_eq!(
        crate_path("tokio-1.54.1/src/runtime/task/core.rs"),
        "tokio/src/runtime/task/core.rs"
    );
    assert_eq!(
        crate_path("tokio-util-0.7.1/src/a.rs"),
        "tokio-util/src/a.rs"
    );
    assert_eq!(crate_path("x-1.0.0-alpha.1/src/a.rs"), "x/src/a.rs");
    assert_eq!(crate_path("src/lib.rs"), "src/lib.rs");
    assert_eq!(crate_path("my-2d-lib/src/lib.rs"), "my-2d-lib/src/lib.rs");
}

#[test]
fn snapshot_contents_follow_the_header() {
    let file = "---\nsource: tests/leak.rs\ndescription: x\n---\nline 1\nline 2\n";
    assert_eq!(snapshot_contents(file), "line 1\nline 2\n");
    assert_eq!(snapshot_contents("---\nno end"), "");
}
