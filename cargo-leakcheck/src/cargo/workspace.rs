//! The workspace under test, from `cargo metadata`.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use cargo_metadata::{MetadataCommand, PackageId};

use crate::binary_id::binary_id;
use crate::errors::Error;
use crate::settings::BuildSettings;

/// What leakcheck needs to know about the workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root; reports show paths relative to it.
    pub root: PathBuf,
    /// Where leakcheck builds: `<target dir>/leakcheck`, so the user's own
    /// build cache is not invalidated by leakcheck's flags.
    pub target_dir: PathBuf,
    /// Name and root directory of each workspace member.
    pub packages: HashMap<PackageId, (String, PathBuf)>,
    /// The integration test targets (`--test NAME`) of each member, by
    /// the member's name.
    pub test_targets: Vec<(String, Vec<String>)>,
    /// The members' targets whose binary was named otherwise before names
    /// followed nextest's binary IDs: (old name, binary ID). The old name
    /// was the target's name, or `package::kind/target` when two targets
    /// of the workspace shared it.
    pub renamed: Vec<(String, String)>,
    /// The source files of the members' integration test targets: the
    /// rustc wrapper tells a `harness = false` test (built as a plain
    /// binary) from the package's binaries by them.
    pub test_sources: Vec<PathBuf>,
    /// The binary IDs of the members' targets (all kinds a test binary
    /// can be built from), sorted: what reports and the configuration name
    /// binaries by, whichever packages `-p` selects.
    pub binary_ids: Vec<String>,
    /// The members whose library has doctests turned on: rustdoc builds
    /// those, so they are not checked, and the report says so.
    pub doctests: Vec<String>,
    /// Every member installs leakcheck itself in every target it builds
    /// tests from ([`installs_itself`]): the rustc wrapper links the
    /// runtime into none of them, so it is not built.
    pub installs_itself: bool,
}

/// A member as [`installs_itself`] sees it.
#[derive(Debug)]
pub struct Member {
    /// It depends on `leakcheck-rt` under that name, not optionally: its
    /// test crates get `--extern leakcheck_rt`.
    pub links_runtime: bool,
    /// The crate roots of the targets it can build tests from: all but
    /// its build script.
    pub test_roots: Vec<PathBuf>,
}

/// `true` when every member links leakcheck-rt and every root it builds
/// tests from says `install!(` (`read` gives a file's text): what the
/// rustc wrapper reads to leave a test crate as it is.
pub fn installs_itself(members: &[Member], read: impl Fn(&Path) -> Option<String>) -> bool {
    members.iter().all(|m| {
        m.links_runtime
            && m.test_roots
                .iter()
                .all(|root| read(root).is_some_and(|text| text.contains("install!(")))
    })
}

/// The cargo to run: `$CARGO` (set by cargo for its subcommands), else
/// `cargo` from `PATH`.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Reads the workspace of `--manifest-path` (or of the current directory).
pub fn load(cargo: &OsStr, build: &BuildSettings) -> Result<Workspace, Error> {
    if let Some(path) = &build.manifest_path {
        // cargo's own message for this names no flag; say it plainly.
        if !path.exists() {
            return Err(Error::ManifestMissing(path.clone()));
        }
    }
    let mut cmd = MetadataCommand::new();
    cmd.cargo_path(cargo)
        .no_deps()
        .other_options(build.lock_args.clone());
    if let Some(path) = &build.manifest_path {
        cmd.manifest_path(path);
    }
    let metadata = cmd
        .exec()
        .map_err(|e| Error::Metadata(metadata_reason(&e)))?;
    let target_base = match &build.target_dir {
        Some(dir) => dir.clone(),
        None => metadata.target_directory.clone().into_std_path_buf(),
    };
    let packages = metadata
        .packages
        .iter()
        .map(|p| {
            let root = p
                .manifest_path
                .parent()
                .map(|d| d.as_std_path().to_owned())
                .unwrap_or_default();
            (p.id.clone(), (p.name.to_string(), root))
        })
        .collect();
    let test_targets = metadata
        .packages
        .iter()
        .map(|p| {
            let tests = p
                .targets
                .iter()
                .filter(|t| t.kind.iter().any(|k| k.to_string() == "test"))
                .map(|t| t.name.clone())
                .collect();
            (p.name.to_string(), tests)
        })
        .collect();
    let test_sources = metadata
        .packages
        .iter()
        .flat_map(|p| &p.targets)
        .filter(|t| t.kind.iter().any(|k| k.to_string() == "test"))
        .map(|t| t.src_path.clone().into_std_path_buf())
        .collect();
    let doctests = metadata
        .packages
        .iter()
        .filter(|p| p.targets.iter().any(|t| t.doctest))
        .map(|p| p.name.to_string())
        .collect();
    let targets: Vec<(&str, String, &str)> = metadata
        .packages
        .iter()
        .flat_map(|p| {
            p.targets.iter().filter_map(|t| {
                let kind = t.kind.first()?.to_string();
                (kind != "custom-build").then_some((p.name.as_str(), kind, t.name.as_str()))
            })
        })
        .collect();
    let members: Vec<Member> = metadata
        .packages
        .iter()
        .map(|p| Member {
            links_runtime: p
                .dependencies
                .iter()
                .any(|d| d.name == "leakcheck-rt" && d.rename.is_none() && !d.optional),
            test_roots: p
                .targets
                .iter()
                // Every target cargo can build tests from (`--benches`,
                // `--examples` and `--all-targets` build those too), test
                // or not by default.
                .filter(|t| t.kind.iter().all(|k| k.to_string() != "custom-build"))
                .map(|t| t.src_path.clone().into_std_path_buf())
                .collect(),
        })
        .collect();
    let installs_itself = installs_itself(&members, |path| std::fs::read_to_string(path).ok());
    let renamed = renamed(&targets);
    let mut binary_ids: Vec<String> = targets
        .iter()
        .map(|(package, kind, name)| binary_id(package, kind, name))
        .collect();
    binary_ids.sort();
    binary_ids.dedup();
    Ok(Workspace {
        root: metadata.workspace_root.into_std_path_buf(),
        target_dir: target_base.join("leakcheck"),
        packages,
        test_targets,
        test_sources,
        renamed,
        binary_ids,
        doctests,
        installs_itself,
    })
}

/// (old name, binary ID) of each target (package, kind, name) whose name
/// changed when binaries took nextest's binary IDs.
fn renamed(targets: &[(&str, String, &str)]) -> Vec<(String, String)> {
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for (_, _, name) in targets {
        *uses.entry(name).or_default() += 1;
    }
    targets
        .iter()
        .filter_map(|(package, kind, name)| {
            let old = if uses[name] > 1 {
                format!("{package}::{kind}/{name}")
            } else {
                (*name).to_owned()
            };
            let id = binary_id(package, kind, name);
            (old != id).then_some((old, id))
        })
        .collect()
}

/// Checks `-p NAME` and `--test NAME` against the workspace before the
/// build, so a typo is a usage error (exit 2) rather than a failed build.
/// A package spec that is not a plain name (`name@1.0`, a URL) is left to
/// cargo, as is `--test` with a `*` pattern.
pub fn check_selection(ws: &Workspace, selection: &BuildSettings) -> Result<(), Error> {
    let members: Vec<&str> = ws.test_targets.iter().map(|(p, _)| p.as_str()).collect();
    let plain = |spec: &str| !spec.contains(['@', ':', '/', '#', '*', '?', '['].as_slice());
    for spec in selection.packages.iter().filter(|s| plain(s)) {
        if !members.contains(&spec.as_str()) {
            return Err(Error::Selection(format!(
                "package `{spec}` is not a member of the workspace (members: {})",
                members.join(", ")
            )));
        }
    }
    let searched: Vec<&(String, Vec<String>)> = ws
        .test_targets
        .iter()
        .filter(|(p, _)| selection.packages.is_empty() || selection.packages.contains(p))
        .collect();
    for name in selection.tests.iter().filter(|s| plain(s)) {
        if !searched.iter().any(|(_, tests)| tests.contains(name)) {
            let mut known: Vec<&str> = searched
                .iter()
                .flat_map(|(_, tests)| tests.iter().map(String::as_str))
                .collect();
            known.sort_unstable();
            return Err(Error::Selection(format!(
                "no test target named `{name}` (test targets: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// cargo's complaint as one line: its `error:` line, without the prefix.
fn metadata_reason(e: &cargo_metadata::Error) -> String {
    match e {
        cargo_metadata::Error::CargoMetadata { stderr } => first_error_line(stderr),
        other => other.to_string(),
    }
}

/// cargo's error as one line: the `error:` line, where it points (`-->`),
/// and its causes.
pub(crate) fn first_error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("error: ")) else {
        return lines
            .first()
            .map_or("cargo failed without a message".to_owned(), |l| {
                l.to_string()
            });
    };
    let mut message = lines[at]["error: ".len()..].to_owned();
    let rest = &lines[at + 1..];
    if let Some(location) = rest.first().and_then(|l| l.strip_prefix("--> ")) {
        message.push_str(&format!(" (at {location})"));
    }
    if let Some(caused) = rest.iter().position(|l| *l == "Caused by:") {
        let causes = rest[caused + 1..].iter().filter(|l| **l != "Caused by:");
        for cause in causes.take_while(|l| !l.starts_with("-->")) {
            message.push_str(": ");
            message.push_str(cause);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_installs_itself_when_every_member_links_and_installs_leakcheck() {
        let member = |links_runtime, roots: &[&str]| Member {
            links_runtime,
            test_roots: roots.iter().map(PathBuf::from).collect(),
        };
        let read = |path: &Path| match path.to_str()? {
            "a/lib.rs" => {
                Some("pub fn f() {}\n#[cfg(test)]\nleakcheck_rt::install!();\n".to_owned())
            }
            "a/tests/t.rs" => Some("leakcheck_rt::install!();\n#[test]\nfn t() {}\n".to_owned()),
            "b/lib.rs" => Some("pub fn g() {}\n".to_owned()),
            _ => None,
        };
        assert!(installs_itself(
            &[member(true, &["a/lib.rs", "a/tests/t.rs"])],
            read
        ));
        // A root without it, a root that cannot be read, a member that does
        // not link the runtime: the runtime is built.
        assert!(!installs_itself(
            &[member(true, &["a/lib.rs", "b/lib.rs"])],
            read
        ));
        assert!(!installs_itself(
            &[member(true, &["a/lib.rs", "gone.rs"])],
            read
        ));
        assert!(!installs_itself(&[member(false, &["a/lib.rs"])], read));
        assert!(!installs_itself(
            &[member(true, &["a/lib.rs"]), member(false, &[])],
            read
        ));
    }

    #[test]
    fn cargo_errors_become_one_line() {
        let stderr = "warning: something\nerror: could not find `Cargo.toml` in `/tmp` or any parent directory\n";
        assert_eq!(
            first_error_line(stderr),
            "could not find `Cargo.toml` in `/tmp` or any parent directory"
        );
        let stderr = "error: unclosed table, expected `]`\n --> Cargo.toml:1:9\n  |\n1 | [package\n  |         ^\n";
        assert_eq!(
            first_error_line(stderr),
            "unclosed table, expected `]` (at Cargo.toml:1:9)"
        );
        let stderr = "error: failed to load manifest for workspace member `/w/a`\n\nCaused by:\n  failed to read `/w/a/Cargo.toml`\n\nCaused by:\n  No such file or directory (os error 2)\n";
        assert_eq!(
            first_error_line(stderr),
            "failed to load manifest for workspace member `/w/a`: failed to read `/w/a/Cargo.toml`: No such file or directory (os error 2)"
        );
        assert_eq!(first_error_line("\nsomething odd\n"), "something odd");
        assert_eq!(first_error_line(""), "cargo failed without a message");
    }

    #[test]
    fn an_unknown_package_or_test_target_is_a_usage_error() {
        let ws = Workspace {
            root: "/w".into(),
            target_dir: "/w/target/leakcheck".into(),
            packages: HashMap::new(),
            test_targets: vec![
                ("server".into(), vec!["api".into()]),
                ("client".into(), vec!["cli".into()]),
            ],
            test_sources: Vec::new(),
            renamed: Vec::new(),
            binary_ids: Vec::new(),
            doctests: Vec::new(),
            installs_itself: false,
        };
        let selection = |p: &[&str], t: &[&str]| BuildSettings {
            packages: p.iter().map(|s| s.to_string()).collect(),
            tests: t.iter().map(|s| s.to_string()).collect(),
            ..BuildSettings::default()
        };
        assert!(check_selection(&ws, &selection(&["server"], &["api"])).is_ok());
        assert!(check_selection(&ws, &selection(&[], &["cli"])).is_ok());
        assert!(check_selection(&ws, &selection(&["serde@1.0"], &["x*"])).is_ok());
        let e = check_selection(&ws, &selection(&["sever"], &[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "package `sever` is not a member of the workspace (members: server, client)"
        );
        assert_eq!(e.process_exit_code(), 2);
        let e = check_selection(&ws, &selection(&["server"], &["cli"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no test target named `cli` (test targets: api)"
        );
    }

    #[test]
    fn a_missing_manifest_is_named_before_running_cargo() {
        let build = BuildSettings {
            manifest_path: Some("/nonexistent/leakcheck/Cargo.toml".into()),
            ..BuildSettings::default()
        };
        let err = load(OsStr::new("/nonexistent/cargo"), &build).unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest path `/nonexistent/leakcheck/Cargo.toml` does not exist"
        );
        assert_eq!(err.process_exit_code(), 2);
    }

    #[test]
    fn old_names_are_known_for_the_targets_that_were_renamed() {
        let targets = [
            ("registry", "lib".to_owned(), "registry"),
            ("registry", "test".to_owned(), "suite"),
            ("ci-fixture", "lib".to_owned(), "ci_fixture"),
            ("server", "test".to_owned(), "api"),
            ("client", "test".to_owned(), "api"),
            ("client", "bin".to_owned(), "client"),
        ];
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            renamed(&targets),
            pairs(&[
                ("suite", "registry::suite"),
                ("ci_fixture", "ci-fixture"),
                ("server::test/api", "server::api"),
                ("client::test/api", "client::api"),
                ("client", "client::bin/client"),
            ])
        );
    }
}
