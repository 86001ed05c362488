//! The `.snap.new` of a leak report that differs from its accepted
//! snapshot, written by leakcheck in insta's file format, so that the test
//! fails once with leakcheck's report instead of twice (insta's own panic,
//! its summary box and its `cargo insta` hints first).
//!
//! insta decides where a new snapshot goes from `INSTA_UPDATE` (or its
//! config file) and `CI`; the same decision is read here:
//!
//! ```text
//!  INSTA_UPDATE      snapshot exists   written by leakcheck
//!  new                  either          .snap.new
//!  auto / unset         either          .snap.new outside CI, nothing in CI
//!  no                   either          nothing
//!  unseen               yes             .snap.new
//!  always, force, 1     either          insta (the .snap in place; insta does not fail)
//!  unseen               no              insta (the same)
//! ```
//!
//! With `INSTA_UPDATE` unset, insta's config file (`behavior.update`) is the
//! setting; one whose setting is not read here goes to insta.

use std::path::{Path, PathBuf};

/// Where the `.snap.new` of a differing report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Update {
    /// leakcheck writes the report to this `.snap.new`.
    NewFile(PathBuf),
    /// Nothing is written (`INSTA_UPDATE=no`, or CI).
    Nothing,
    /// insta writes it: in place, where it passes without a word, or by a
    /// rule of its config file that is not read here.
    Insta,
}

/// The config files insta reads in the workspace root, in its order.
const INSTA_CONFIGS: [&str; 3] = [".config/insta.yaml", "insta.yaml", ".insta.yaml"];

/// What insta would do with a report that differs from the snapshot at
/// `snapshot` (which may not exist) in `workspace`, by this process's
/// environment.
pub(crate) fn update(workspace: &Path, snapshot: &Path) -> Update {
    let var = |name: &str| std::env::var(name).ok();
    let force = ["INSTA_FORCE_UPDATE", "INSTA_FORCE_UPDATE_SNAPSHOTS"]
        .iter()
        .any(|name| var(name).as_deref() == Some("1"));
    let setting = if force {
        Some("force".to_owned())
    } else if let Some(update) = var("INSTA_UPDATE").filter(|v| !v.is_empty()) {
        Some(update)
    } else {
        // insta reads the first config file that exists.
        let config = INSTA_CONFIGS
            .iter()
            .find_map(|c| std::fs::read_to_string(workspace.join(c)).ok());
        match config.as_deref().map(configured_update) {
            None => None,
            Some(Ok(update)) => update,
            Some(Err(Unread)) => return Update::Insta,
        }
    };
    let place = match decide(setting.as_deref(), is_ci(), snapshot.exists()) {
        Place::NewFile => {
            let dir = std::env::var_os("INSTA_PENDING_DIR").filter(|d| !d.is_empty());
            pending_path(workspace, snapshot, dir.as_deref().map(Path::new))
        }
        Place::Nothing => return Update::Nothing,
        Place::Insta => return Update::Insta,
    };
    place.map_or(Update::Insta, Update::NewFile)
}

/// insta's choice, without the paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    NewFile,
    Nothing,
    Insta,
}

/// The table above: `setting` is `INSTA_UPDATE`, or the config file's
/// (`None` when neither sets it).
fn decide(setting: Option<&str>, ci: bool, exists: bool) -> Place {
    match setting {
        None | Some("auto") if ci => Place::Nothing,
        None | Some("auto" | "new") => Place::NewFile,
        Some("unseen") if exists => Place::NewFile,
        Some("no") => Place::Nothing,
        // `always`, `force`, `1`, `unseen` without a snapshot, and values
        // insta rejects with its own error.
        Some(_) => Place::Insta,
    }
}

/// A config file whose update setting is not read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unread;

/// The update setting of an insta config file: `behavior.update`, or the
/// older `behavior.force_update: true` (`force`); `None` when it sets
/// neither. Only block-style YAML, as insta's docs write it, is read.
fn configured_update(yaml: &str) -> Result<Option<String>, Unread> {
    let mut in_behavior = false;
    let mut found = None;
    for line in yaml.lines() {
        let content = line.split(" #").next().unwrap_or("").trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !content.starts_with([' ', '\t']) {
            in_behavior = trimmed == "behavior:";
            // `behavior: {update: always}` and the like are insta's to read.
            if !in_behavior && trimmed.starts_with("behavior") {
                return Err(Unread);
            }
            continue;
        }
        if !in_behavior {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(Unread);
        };
        let value = value.trim().trim_matches(['"', '\'']);
        match key.trim() {
            "update" | "force_update" if value.is_empty() => return Err(Unread),
            "update" => found = Some(value.to_owned()),
            "force_update" if found.is_none() && value == "true" => {
                found = Some("force".to_owned());
            }
            _ => {}
        }
    }
    Ok(found)
}

/// insta's test for CI: `CI` set to anything but `false`, `0` or empty,
/// or Azure Pipelines' `TF_BUILD`.
fn is_ci() -> bool {
    match std::env::var("CI").ok().as_deref() {
        Some("false" | "0" | "") => false,
        None => std::env::var_os("TF_BUILD").is_some(),
        Some(_) => true,
    }
}

/// `<snapshot>.new`, or its place under `INSTA_PENDING_DIR` as insta puts
/// it there (the snapshot's path below the workspace); `None` when insta
/// would refuse that path, so that insta says why.
fn pending_path(workspace: &Path, snapshot: &Path, pending_dir: Option<&Path>) -> Option<PathBuf> {
    let mut name = snapshot.file_name()?.to_owned();
    name.push(".new");
    let Some(dir) = pending_dir else {
        return Some(snapshot.with_file_name(name));
    };
    let relative = snapshot.strip_prefix(workspace).ok()?;
    if relative
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return None;
    }
    Some(dir.join(relative).with_file_name(name))
}

/// The `.snap.new` text insta writes for `contents`: a YAML header with
/// the test's source file and description, then the contents.
pub(crate) fn file_text(source: &str, description: &str, contents: &str) -> String {
    format!(
        "---\nsource: {}\ndescription: {}\n---\n{}\n",
        yaml_scalar(&source.replace('\\', "/")),
        yaml_scalar(description),
        contents.trim_end()
    )
}

/// `text` as a YAML scalar: plain when it is safely so, else double-quoted.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-'))
        && !text.starts_with(['-', '.'])
        && text.parse::<f64>().is_err()
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        );
    if plain {
        return text.to_owned();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes the `.snap.new` at `path`, creating its directory.
pub(crate) fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    leakcheck_format::atomic_file::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insta_s_choice_is_read_from_its_setting() {
        use Place::*;
        // (setting, CI, snapshot exists) → place.
        let table = [
            (None, false, false, NewFile),
            (None, true, true, Nothing),
            (Some("auto"), false, true, NewFile),
            (Some("auto"), true, false, Nothing),
            (Some("new"), true, true, NewFile),
            (Some("no"), false, true, Nothing),
            (Some("unseen"), false, true, NewFile),
            (Some("unseen"), false, false, Insta),
            (Some("always"), true, true, Insta),
            (Some("force"), false, true, Insta),
            (Some("1"), false, false, Insta),
            (Some("sometimes"), false, false, Insta),
        ];
        for (setting, ci, exists, place) in table {
            assert_eq!(
                decide(setting, ci, exists),
                place,
                "{setting:?} ci={ci} exists={exists}"
            );
        }
    }

    #[test]
    fn the_config_file_s_setting_is_read() {
        let read = |yaml: &str| configured_update(yaml);
        assert_eq!(
            read("behavior:\n  force_pass: false\n  update: \"no\" # in CI too\n"),
            Ok(Some("no".to_owned()))
        );
        assert_eq!(
            read("# update nothing\ntest:\n  runner: nextest\nbehavior:\n  output: minimal\n"),
            Ok(None)
        );
        assert_eq!(
            read("behavior:\n  force_update: true\n"),
            Ok(Some("force".to_owned()))
        );
        // `update` under another key is not insta's behaviour setting.
        assert_eq!(read("review:\n  update: always\n"), Ok(None));
        assert_eq!(read("behavior: { update: always }\n"), Err(Unread));
    }

    #[test]
    fn the_file_reads_as_insta_writes_it() {
        assert_eq!(
            file_text(
                "tests/leaks.rs",
                "leakcheck report of the leak test `unbounded_cache`",
                "test: unbounded_cache\nverdict: leak\nsrc/lib.rs:15  leaky::cache_payload  leak  ~1000 B/iter  ~1 blocks/iter\n\n",
            ),
            "---\nsource: tests/leaks.rs\n\
             description: \"leakcheck report of the leak test `unbounded_cache`\"\n---\n\
             test: unbounded_cache\nverdict: leak\n\
             src/lib.rs:15  leaky::cache_payload  leak  ~1000 B/iter  ~1 blocks/iter\n"
        );
        assert_eq!(
            yaml_scalar("tests\\a \"b\".rs"),
            "\"tests\\\\a \\\"b\\\".rs\""
        );
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("1.5"), "\"1.5\"");
        assert_eq!(yaml_scalar("src/lib.rs"), "src/lib.rs");
    }

    #[test]
    fn insta_reads_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leaks__unbounded_cache_leaks.snap.new");
        let contents = "test: unbounded_cache\nverdict: leak\n\
                        src/lib.rs:15  leaky::cache_payload  leak  ~1000 B/iter  ~1 blocks/iter";
        let description = "leakcheck report of the leak test `unbounded_cache`";
        write(&path, &file_text("tests/leaks.rs", description, contents)).unwrap();
        let snapshot = insta::Snapshot::from_file(&path).unwrap();
        assert_eq!(snapshot.metadata().source(), Some("tests/leaks.rs"));
        assert_eq!(snapshot.metadata().description(), Some(description));
        assert_eq!(snapshot.as_text().unwrap().to_string(), contents);
    }

    #[test]
    fn the_pending_file_is_beside_the_snapshot_or_under_the_pending_dir() {
        let snap = Path::new("/ws/tests/snapshots/leaks__a_leaks.snap");
        assert_eq!(
            pending_path(Path::new("/ws"), snap, None),
            Some(PathBuf::from("/ws/tests/snapshots/leaks__a_leaks.snap.new"))
        );
        // Under `INSTA_PENDING_DIR`, at the same place below it.
        assert_eq!(
            pending_path(Path::new("/ws"), snap, Some(Path::new("/pending"))),
            Some(PathBuf::from(
                "/pending/tests/snapshots/leaks__a_leaks.snap.new"
            ))
        );
        // Outside the workspace insta refuses, and says why.
        assert_eq!(
            pending_path(
                Path::new("/ws"),
                Path::new("/elsewhere/a.snap"),
                Some(Path::new("/p"))
            ),
            None
        );
    }
}
