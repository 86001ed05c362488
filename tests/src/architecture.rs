//! The import graph between the files of a crate's `src/`, for the
//! architecture test (`tests/tests/architecture.rs`): which file names a
//! module that another file defines, and whether those names go round in a
//! circle.
//!
//! An edge runs from a file to the file that defines the module a path in it
//! names: `use crate::…`, `crate::…` and `super::…`/`self::…` in code, and
//! `use` of (or a path through) a module the file's own module declares or
//! imported. A name re-exported by a `pub use` is followed to the file that
//! defines it. A parent only declaring its children (`mod x;`, `pub use
//! x::Y;`) is not an edge. The source is read as tokens, without comments and
//! string literals, so a doc link or a message naming `crate::x` is no edge.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// A file's path relative to `src/`, with `/` separators (`run/binary.rs`).
pub type FileName = String;

/// Each file of a crate's `src/` to the files it imports from.
pub type Graph = BTreeMap<FileName, BTreeSet<FileName>>;

/// Every `.rs` file under `src`, by its name relative to `src`.
pub fn read_sources(src: &Path) -> BTreeMap<FileName, String> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<FileName, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path
                    .strip_prefix(src)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.insert(name, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// The tokens of Rust source, without comments; string and char literals
/// are one token each (a string keeps its text, for `#[path = "…"]`).
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_ident_start = |ch: char| ch.is_alphabetic() || ch == '_';
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            let start = i + 1;
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            out.push(Tok::Str(c[start..i.min(c.len())].iter().collect()));
            i += 1;
        } else if ch == '\'' {
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(String::new()));
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(Tok::Str(String::new()));
            } else {
                // A lifetime: its name follows as an identifier.
                i += 1;
                out.push(Tok::Punct('\''));
            }
        } else if is_ident_start(ch) {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let raw_string = matches!(word.as_str(), "r" | "br" | "cr")
                && matches!(c.get(i), Some('"') | Some('#'))
                && c[i..].iter().find(|&&h| h != '#') == Some(&'"');
            if raw_string {
                let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
                i += hashes + 1;
                let start = i;
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                while i < c.len() && !c[i..].starts_with(&close) {
                    i += 1;
                }
                out.push(Tok::Str(c[start..i.min(c.len())].iter().collect()));
                i += close.len();
            } else if word == "r" && c.get(i) == Some(&'#') {
                // A raw identifier, `r#name`.
                i += 1;
                let start = i;
                while i < c.len() && is_ident(c[i]) {
                    i += 1;
                }
                out.push(Tok::Ident(c[start..i].iter().collect()));
            } else {
                out.push(Tok::Ident(word));
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// What one file says about modules.
#[derive(Debug, Default)]
struct FileFacts {
    /// `mod name;` declarations: the name and its `#[path]`, if any.
    declared: Vec<(String, Option<String>)>,
    /// Paths named, each with the inline modules it sits in, and whether
    /// it is a `pub use` (a re-export).
    paths: Vec<NamedPath>,
}

#[derive(Debug)]
struct NamedPath {
    inline: Vec<String>,
    segments: Vec<String>,
    /// The name it is imported as (`use` only).
    alias: Option<String>,
    is_pub_use: bool,
    is_use: bool,
}

/// Parses a use tree from `toks[*i]` up to its end; pushes each full path
/// and the name it binds (`None` for a glob).
fn use_tree(
    toks: &[Tok],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(s)) if s != "as" => {
                path.push(s.clone());
                *i += 1;
            }
            Some(Tok::PathSep) => *i += 1,
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push((path, None));
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        None => return,
                        _ => use_tree(toks, i, &path, out),
                    }
                }
            }
            Some(Tok::Ident(_)) => {
                // `as NAME`
                let alias = ident(toks.get(*i + 1)).map(str::to_owned);
                *i += 2;
                out.push((path, alias));
                return;
            }
            _ => {
                let last = path.last().cloned();
                let bound = match last.as_deref() {
                    Some("self") => {
                        path.pop();
                        path.last().cloned()
                    }
                    _ => last,
                };
                out.push((path, bound));
                return;
            }
        }
    }
}

fn facts(src: &str) -> FileFacts {
    let toks = tokens(src);
    let mut facts = FileFacts::default();
    let mut depth = 0usize;
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut path_attr: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('#') => {
                // `#[path = "…"]`
                let inner = usize::from(toks.get(i + 1) == Some(&Tok::Punct('!')));
                if toks.get(i + 1 + inner) == Some(&Tok::Punct('['))
                    && ident(toks.get(i + 2 + inner)) == Some("path")
                    && toks.get(i + 3 + inner) == Some(&Tok::Punct('='))
                    && let Some(Tok::Str(p)) = toks.get(i + 4 + inner)
                {
                    path_attr = Some(p.clone());
                }
                i += 1;
            }
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(kw) if kw == "mod" => {
                let name = ident(toks.get(i + 1)).unwrap_or_default().to_owned();
                match toks.get(i + 2) {
                    Some(Tok::Punct(';')) => {
                        if inline.is_empty() {
                            facts.declared.push((name, path_attr.take()));
                        }
                        i += 3;
                    }
                    Some(Tok::Punct('{')) => {
                        depth += 1;
                        inline.push((name, depth));
                        path_attr = None;
                        i += 3;
                    }
                    _ => i += 1,
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let is_pub = match toks.get(i.wrapping_sub(1)) {
                    Some(Tok::Ident(p)) => p == "pub",
                    Some(Tok::Punct(')')) => {
                        let open = toks[..i].iter().rposition(|t| *t == Tok::Punct('('));
                        open.is_some_and(|o| o > 0 && ident(toks.get(o - 1)) == Some("pub"))
                    }
                    _ => false,
                };
                i += 1;
                let mut leading = false;
                if toks.get(i) == Some(&Tok::PathSep) {
                    // `use ::name`: an external crate.
                    leading = true;
                }
                let mut found = Vec::new();
                use_tree(&toks, &mut i, &[], &mut found);
                if !leading {
                    for (segments, alias) in found {
                        facts.paths.push(NamedPath {
                            inline: inline.iter().map(|(n, _)| n.clone()).collect(),
                            segments,
                            alias,
                            is_pub_use: is_pub,
                            is_use: true,
                        });
                    }
                }
                path_attr = None;
            }
            Tok::Ident(first) => {
                let starts_path = toks.get(i.wrapping_sub(1)) != Some(&Tok::PathSep);
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while toks.get(j) == Some(&Tok::PathSep) {
                    match ident(toks.get(j + 1)) {
                        Some(s) => {
                            segments.push(s.to_owned());
                            j += 2;
                        }
                        None => break,
                    }
                }
                if starts_path && segments.len() > 1 {
                    facts.paths.push(NamedPath {
                        inline: inline.iter().map(|(n, _)| n.clone()).collect(),
                        segments,
                        alias: None,
                        is_pub_use: false,
                        is_use: false,
                    });
                }
                i = j;
            }
            Tok::Punct(';') => {
                path_attr = None;
                i += 1;
            }
            _ => i += 1,
        }
    }
    facts
}

/// The crate's modules: each file's module path, from the crate root(s)
/// down through `mod name;` declarations (and their `#[path]`).
fn module_paths(
    sources: &BTreeMap<FileName, String>,
    facts: &BTreeMap<FileName, FileFacts>,
) -> BTreeMap<FileName, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut queue: VecDeque<(FileName, Vec<String>)> = ["lib.rs", "main.rs"]
        .into_iter()
        .filter(|r| sources.contains_key(*r))
        .map(|r| (r.to_owned(), Vec::new()))
        .collect();
    // A binary next to a library is a crate of its own; its files are
    // reached from `lib.rs` or not at all.
    if sources.contains_key("lib.rs") {
        queue.retain(|(f, _)| f == "lib.rs");
    }
    while let Some((file, module)) = queue.pop_front() {
        if out.contains_key(&file) {
            continue;
        }
        let dir = match file.rfind('/') {
            Some(k) => file[..=k].to_owned(),
            None => String::new(),
        };
        let owns_dir =
            file == "lib.rs" || file == "main.rs" || file.ends_with("/mod.rs") || file == "mod.rs";
        let child_dir = if owns_dir {
            dir.clone()
        } else {
            format!("{}/", file.trim_end_matches(".rs"))
        };
        for (name, attr) in &facts[&file].declared {
            let candidates = match attr {
                Some(p) => vec![format!("{dir}{p}")],
                None => vec![
                    format!("{child_dir}{name}.rs"),
                    format!("{child_dir}{name}/mod.rs"),
                ],
            };
            if let Some(child) = candidates.into_iter().find(|c| sources.contains_key(c)) {
                let mut m = module.clone();
                m.push(name.clone());
                queue.push_back((child, m));
            }
        }
        out.insert(file, module);
    }
    out
}

/// The import graph of one crate's sources (names relative to `src/`).
/// Files no crate root reaches are left out.
pub fn import_graph(sources: &BTreeMap<FileName, String>) -> Graph {
    let facts: BTreeMap<FileName, FileFacts> =
        sources.iter().map(|(f, s)| (f.clone(), facts(s))).collect();
    let modules = module_paths(sources, &facts);
    let by_module: BTreeMap<&Vec<String>, &FileName> =
        modules.iter().map(|(f, m)| (m, f)).collect();
    // Each file's children (declared modules) and the names its `use`s bind.
    let children: BTreeMap<&FileName, BTreeSet<&str>> = modules
        .keys()
        .map(|f| {
            let names = facts[f].declared.iter().map(|(n, _)| n.as_str()).collect();
            (f, names)
        })
        .collect();

    // Turns a path as written in `file` (inside `inline` modules) into an
    // absolute module path, or `None` for another crate's.
    let absolute = |file: &FileName, inline: &[String], segments: &[String]| {
        let mut cur = modules[file].clone();
        cur.extend(inline.iter().cloned());
        let first = segments[0].as_str();
        let mut rest = segments;
        let base = match first {
            "crate" => {
                rest = &segments[1..];
                Vec::new()
            }
            "self" => {
                rest = &segments[1..];
                cur
            }
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                rest = &segments[ups..];
                cur[..cur.len().saturating_sub(ups)].to_vec()
            }
            name if inline.is_empty() && children[file].contains(name) => cur,
            _ => return None,
        };
        let mut abs = base;
        abs.extend(rest.iter().cloned());
        Some(abs)
    };

    // Each file's `use` bindings (name -> absolute path), file scope only.
    let mut bindings: BTreeMap<&FileName, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    // Re-exports: file -> exported name -> absolute path.
    let mut exports: BTreeMap<&FileName, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for file in modules.keys() {
        for p in facts[file].paths.iter().filter(|p| p.is_use) {
            let (Some(abs), Some(alias)) = (absolute(file, &p.inline, &p.segments), &p.alias)
            else {
                continue;
            };
            if p.inline.is_empty() {
                bindings
                    .entry(file)
                    .or_default()
                    .insert(alias.clone(), abs.clone());
            }
            if p.is_pub_use && p.inline.is_empty() {
                exports.entry(file).or_default().insert(alias.clone(), abs);
            }
        }
    }

    // The file that defines what `abs` names, following re-exports.
    let defining = |abs: &[String]| -> Option<&FileName> {
        let mut abs = abs.to_vec();
        for _ in 0..16 {
            let k = (0..=abs.len())
                .rev()
                .find(|&k| by_module.contains_key(&abs[..k].to_vec()))?;
            let file = by_module[&abs[..k].to_vec()];
            match abs.get(k).and_then(|n| exports.get(file)?.get(n)) {
                Some(target) if target.as_slice() != abs.as_slice() => {
                    let mut next = target.clone();
                    next.extend(abs[k + 1..].iter().cloned());
                    abs = next;
                }
                _ => return Some(file),
            }
        }
        None
    };

    let mut graph: Graph = modules
        .keys()
        .map(|f| (f.clone(), BTreeSet::new()))
        .collect();
    for file in modules.keys() {
        let own = &modules[file];
        for p in &facts[file].paths {
            let abs = if p.is_use {
                absolute(file, &p.inline, &p.segments)
            } else {
                absolute(file, &p.inline, &p.segments).or_else(|| {
                    // A path through a name a file-level `use` bound.
                    let bound = bindings.get(file)?.get(&p.segments[0])?;
                    let mut abs = bound.clone();
                    abs.extend(p.segments[1..].iter().cloned());
                    Some(abs)
                })
            };
            let Some(abs) = abs else { continue };
            // A parent re-exporting what its children define declares
            // them; that is not an import.
            if p.is_pub_use && abs.len() > own.len() && abs.starts_with(own) {
                continue;
            }
            if let Some(target) = defining(&abs)
                && target != file
            {
                graph.get_mut(file).expect("a node").insert(target.clone());
            }
        }
    }
    graph
}

/// One circle per group of files that import each other (a strongly
/// connected component of more than one file): the files in import order,
/// the first repeated at the end.
pub fn cycles(graph: &Graph) -> Vec<Vec<FileName>> {
    // Which files each file reaches.
    let reach = |from: &FileName| -> BTreeSet<FileName> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<&FileName> = graph[from].iter().collect();
        while let Some(f) = queue.pop_front() {
            if seen.insert(f.clone()) {
                queue.extend(graph.get(f).into_iter().flatten());
            }
        }
        seen
    };
    let reaches: BTreeMap<&FileName, BTreeSet<FileName>> =
        graph.keys().map(|f| (f, reach(f))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for start in graph.keys() {
        if done.contains(start) || !reaches[start].contains(start) {
            continue;
        }
        let component: BTreeSet<&FileName> = graph
            .keys()
            .filter(|f| reaches[start].contains(*f) && reaches[*f].contains(start))
            .collect();
        done.extend(component.iter().map(|f| (*f).clone()));
        // The shortest circle through `start`, by breadth-first search.
        let mut parent: BTreeMap<&FileName, &FileName> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        'search: while let Some(f) = queue.pop_front() {
            for next in &graph[f] {
                if next == start {
                    // The way back from `f` to `start`, then forwards.
                    let mut back = Vec::new();
                    let mut at = f;
                    while at != start {
                        back.push(at.clone());
                        at = parent[at];
                    }
                    let mut circle = vec![start.clone()];
                    circle.extend(back.into_iter().rev());
                    circle.push(start.clone());
                    out.push(circle);
                    break 'search;
                }
                if component.contains(next) && !parent.contains_key(next) && next != start {
                    parent.insert(next, f);
                    queue.push_back(next);
                }
            }
        }
    }
    out
}

/// `a.rs → b.rs → a.rs`
pub fn describe(circle: &[FileName]) -> String {
    circle.join(" → ")
}

/// The `mod.rs` files that hold more than declarations: each with the
/// first token that is not `mod`/`pub mod`/`pub use`, a doc comment or an
/// attribute.
pub fn mod_rs_with_code(sources: &BTreeMap<FileName, String>) -> Vec<(FileName, String)> {
    let mut out = Vec::new();
    for (file, src) in sources {
        if !(file == "mod.rs" || file.ends_with("/mod.rs")) {
            continue;
        }
        let toks = tokens(src);
        let mut i = 0;
        let mut bad = None;
        let mut after_pub = false;
        while i < toks.len() {
            match &toks[i] {
                Tok::Punct('#') => {
                    // An attribute: skip to its closing bracket.
                    let mut depth = 0;
                    i += 1;
                    while i < toks.len() {
                        match toks[i] {
                            Tok::Punct('[') => depth += 1,
                            Tok::Punct(']') => {
                                depth -= 1;
                                if depth == 0 {
                                    i += 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                }
                Tok::Ident(w) if w == "pub" => {
                    i += 1;
                    if toks.get(i) == Some(&Tok::Punct('(')) {
                        while i < toks.len() && toks[i] != Tok::Punct(')') {
                            i += 1;
                        }
                        i += 1;
                    }
                    match ident(toks.get(i)) {
                        Some("mod") | Some("use") => after_pub = true,
                        _ => {
                            bad = Some(format!("pub {:?}", toks.get(i)));
                            break;
                        }
                    }
                }
                Tok::Ident(w) if w == "mod" || w == "use" => {
                    let is_mod = w == "mod";
                    let start = i;
                    while i < toks.len() && toks[i] != Tok::Punct(';') {
                        if is_mod && toks[i] == Tok::Punct('{') {
                            bad = Some(format!("inline module {:?}", toks.get(start + 1)));
                            break;
                        }
                        i += 1;
                    }
                    if bad.is_some() {
                        break;
                    }
                    if !is_mod && !std::mem::take(&mut after_pub) {
                        bad = Some("a private `use`".to_owned());
                        break;
                    }
                    after_pub = false;
                    i += 1;
                }
                other => {
                    bad = Some(format!("{other:?}"));
                    break;
                }
            }
        }
        if let Some(what) = bad {
            out.push((file.clone(), what));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> BTreeMap<FileName, String> {
        files
            .iter()
            .map(|(f, s)| ((*f).to_owned(), (*s).to_owned()))
            .collect()
    }

    #[test]
    fn a_circle_through_three_files_is_found_in_import_order() {
        let sources = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;"),
            ("b.rs", "pub struct B(crate::c::C);"),
            ("c/mod.rs", "mod inner;\npub use inner::C;"),
            ("c/inner.rs", "pub struct C(super::super::a::A);"),
        ]);
        let graph = import_graph(&sources);
        assert_eq!(
            cycles(&graph)
                .iter()
                .map(|c| describe(c))
                .collect::<Vec<_>>(),
            ["a.rs → b.rs → c/inner.rs → a.rs"]
        );
    }

    #[test]
    fn a_tree_of_imports_is_not_a_circle() {
        let sources = crate_of(&[
            (
                "lib.rs",
                "//! [`crate::b`] in a doc\nmod a;\nmod b;\npub use a::A;\nfn f() { a::go(); }",
            ),
            (
                "a.rs",
                "use crate::b::{self, B};\npub fn go() { b::helper(); let _ = \"crate::lib\"; }\n#[cfg(test)]\nmod tests { use super::*; }",
            ),
            (
                "b.rs",
                "pub struct B;\npub fn helper() {}\n#[cfg(test)]\n#[path = \"b_tests.rs\"]\nmod tests;",
            ),
            ("b_tests.rs", "use super::*;\nuse crate::a::go;"),
        ]);
        let graph = import_graph(&sources);
        assert!(cycles(&graph).is_empty(), "{graph:?}");
        assert_eq!(
            graph["lib.rs"].iter().collect::<Vec<_>>(),
            ["a.rs"],
            "the re-export declares, the call imports"
        );
        assert_eq!(graph["a.rs"].iter().collect::<Vec<_>>(), ["b.rs"]);
        assert_eq!(
            graph["b_tests.rs"].iter().collect::<Vec<_>>(),
            ["a.rs", "b.rs"]
        );
    }

    #[test]
    fn a_path_through_a_name_bound_by_use_is_an_edge() {
        let sources = crate_of(&[
            ("lib.rs", "mod x;\nmod y;"),
            ("x/mod.rs", "pub mod deep;"),
            ("x/deep.rs", "pub fn f() { crate::y::g() }"),
            ("y.rs", "use crate::x;\npub fn g() { x::deep::f() }"),
        ]);
        let graph = import_graph(&sources);
        assert_eq!(
            cycles(&graph)
                .iter()
                .map(|c| describe(c))
                .collect::<Vec<_>>(),
            ["x/deep.rs → y.rs → x/deep.rs"]
        );
    }

    #[test]
    fn a_mod_rs_with_a_function_is_named() {
        let sources = crate_of(&[
            (
                "a/mod.rs",
                "//! docs\n#[cfg(test)]\nmod tests;\npub mod b;\npub use b::B;",
            ),
            ("c/mod.rs", "pub mod d;\npub fn run() {}"),
        ]);
        let found = mod_rs_with_code(&sources);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "c/mod.rs");
    }
}
