//! Who retains a leaking site's blocks: the engine's scan (every live
//! block, what first points into each, from statics, thread-locals, stacks
//! and registers, with the other threads stopped) read as a path from a
//! root to one of the site's blocks, each block on the way named by where
//! it was allocated; or the cycle its blocks are in; or nothing. Only in
//! a run with the live blocks registered (`LEAKCHECK_RETAIN=1`: the run
//! `cargo leakcheck` makes once more of a leaking test).

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use leakcheck_engine::{self as alloc, LoadedObject, Parent, RootKind, RootRange, Scan};
use leakcheck_format::caller::workspace_caller;
use leakcheck_format::report::{Caller, Retainer, RetainerKind, SiteReport, SiteVerdict};
use leakcheck_format::traceback::FrameKind;
use object::{Object, ObjectSymbol};

use crate::symbolize;

/// Whether this run registers the live blocks.
pub(crate) fn enabled() -> bool {
    alloc::retaining_blocks()
}

/// Says, for every leaking site of `sites`, what retains its blocks.
pub(crate) fn annotate(sites: &mut [SiteReport]) {
    if !enabled() || !sites.iter().any(|s| s.verdict == SiteVerdict::Leak) {
        return;
    }
    let objects = alloc::loaded_objects();
    let (statics, tls) = leakcheck_engine::roots_of(&objects);
    let Some(scan) = alloc::scan(&statics, &tls) else {
        return;
    };
    let mut names = Names::new(&objects, &scan);
    for site in sites.iter_mut().filter(|s| s.verdict == SiteVerdict::Leak) {
        if let Some(retainer) = retainer_of(&scan, &mut names, &site.file, site.line) {
            site.retained_by = vec![retainer];
        }
    }
}

/// Where each block was allocated, and the roots' names.
struct Names<'a> {
    objects: &'a [LoadedObject],
    scan: &'a Scan,
    sites: HashMap<u32, Option<Caller>>,
    holders: HashMap<u32, Option<Caller>>,
    symbols: HashMap<u32, Vec<(u64, u64, String, bool)>>,
}

impl<'a> Names<'a> {
    fn new(objects: &'a [LoadedObject], scan: &'a Scan) -> Self {
        Names {
            objects,
            scan,
            sites: HashMap::new(),
            holders: HashMap::new(),
            symbols: HashMap::new(),
        }
    }

    /// The line block `b` was allocated at (its stack's charged frame).
    fn site(&mut self, b: usize) -> Option<Caller> {
        let stack = self.scan.blocks[b].stack;
        if stack == 0 {
            return None;
        }
        self.sites
            .entry(stack)
            .or_insert_with(|| {
                let traceback = symbolize::traceback_of(stack);
                traceback.charged_frame().map(|f| Caller {
                    file: f.file.clone(),
                    line: f.line,
                    function: f.function.clone(),
                })
            })
            .clone()
    }

    /// Block `b` as a path shows it: where it was allocated, folded to the
    /// workspace line that called into std or a dependency (a `HashMap`'s
    /// table is allocated at the line that inserted).
    fn holder(&mut self, b: usize) -> Caller {
        let stack = self.scan.blocks[b].stack;
        let folded = self.holders.entry(stack).or_insert_with(|| {
            if stack == 0 {
                return None;
            }
            let traceback = symbolize::traceback_of(stack);
            let charged = traceback.charged_frame()?;
            let own = Caller {
                file: charged.file.clone(),
                line: charged.line,
                function: charged.function.clone(),
            };
            if charged.kind == FrameKind::Workspace {
                return Some(own);
            }
            Some(workspace_caller(&traceback).unwrap_or(own))
        });
        folded.clone().unwrap_or_else(|| Caller {
            file: "<allocated before tracing>".into(),
            line: 0,
            function: String::new(),
        })
    }

    /// Whether block `b` is a task an async runtime owns: tokio's task
    /// cell, allocated where the task was spawned.
    fn is_task(&self, b: usize) -> bool {
        let stack = self.scan.blocks[b].stack;
        stack != 0
            && symbolize::traceback_of(stack)
                .charged_frame()
                .is_some_and(|f| f.function.starts_with("tokio::runtime::task::core::Cell"))
    }

    /// The Rust path of the static or thread-local of object `object` at
    /// `at` (for a thread-local, `at` is its offset in the TLS block).
    fn symbol(&mut self, object: u32, at: u64, tls: bool) -> Option<String> {
        let objects = self.objects;
        let table = self.symbols.entry(object).or_insert_with(|| {
            objects
                .get(object as usize)
                .map(|o| data_symbols(&o.path))
                .unwrap_or_default()
        });
        let bias = if tls {
            0
        } else {
            objects.get(object as usize)?.bias as u64
        };
        table
            .iter()
            .filter(|(_, _, _, is_tls)| *is_tls == tls)
            .find(|(start, size, _, _)| {
                let start = start + bias;
                (start..start + (*size).max(1)).contains(&at)
            })
            .map(|(_, _, name, _)| rust_path(name))
    }

    fn root(&mut self, range: &RootRange, at: usize) -> (RetainerKind, String) {
        match range.kind {
            RootKind::Static(object) => {
                let name = self.symbol(object, at as u64, false).unwrap_or_else(|| {
                    let file = self
                        .objects
                        .get(object as usize)
                        .map(|o| file_name(&o.path));
                    format!("<data of {} at {at:#x}>", file.unwrap_or_default())
                });
                (RetainerKind::Static, name)
            }
            RootKind::ThreadLocal { thread, object } => {
                let thread = self.scan.threads[thread as usize];
                let offset = self
                    .objects
                    .get(object as usize)
                    .and_then(|o| o.tls)
                    .map_or(0, |(offset, _)| offset);
                let in_block = at.wrapping_sub(thread.tp.wrapping_add_signed(offset));
                let name = self
                    .symbol(object, in_block as u64, true)
                    .unwrap_or_else(|| format!("<thread-local at {at:#x}>"));
                (RetainerKind::ThreadLocal, name)
            }
            RootKind::Stack { thread } | RootKind::Registers { thread } => {
                (RetainerKind::Stack, thread_name(self.scan, thread as usize))
            }
        }
    }
}

/// `thread 'name'` for thread `i` of the scan (0: this one).
fn thread_name(scan: &Scan, i: usize) -> String {
    if i == 0
        && let Some(name) = std::thread::current().name()
    {
        return format!("thread '{name}'");
    }
    let tid = scan.threads[i].tid;
    let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
    format!("thread '{}'", comm.trim_end())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The data and TLS symbols of an object's file: `(address or TLS offset,
/// size, name, tls)`.
fn data_symbols(path: &Path) -> Vec<(u64, u64, String, bool)> {
    let Some(data) = alloc::map_file(path) else {
        return Vec::new();
    };
    let Ok(file) = object::File::parse(data) else {
        return Vec::new();
    };
    file.symbols()
        .filter(|s| matches!(s.kind(), object::SymbolKind::Data | object::SymbolKind::Tls))
        .filter_map(|s| {
            let name = s.name().ok()?;
            Some((
                s.address(),
                s.size(),
                name.to_owned(),
                s.kind() == object::SymbolKind::Tls,
            ))
        })
        .collect()
}

/// A symbol's Rust path: demangled, without its hash, and without what
/// `thread_local!` and the constant around a static's initialiser add
/// (`fixture::CACHE::{{constant}}::{{closure}}::VAL` is `fixture::CACHE`).
fn rust_path(symbol: &str) -> String {
    let name = format!("{:#}", backtrace::SymbolName::new(symbol.as_bytes()));
    let cut = name
        .find("::{{")
        .or_else(|| name.find("::{constant"))
        .unwrap_or(name.len());
    let mut path = name[..cut].to_owned();
    for tail in ["::VAL", "::__KEY", "::__getit", "::FOO"] {
        if let Some(rest) = path.strip_suffix(tail) {
            path = rest.to_owned();
        }
    }
    path
}

/// A source line: `(file, line)`.
type Place = (String, u32);
/// How a block is held: the root range, and the sites of the blocks
/// between it and the block.
type Holding = (usize, Vec<Option<Place>>);

/// What retains the blocks of the site `file:line`, if it has any.
fn retainer_of(scan: &Scan, names: &mut Names, file: &str, line: u32) -> Option<Retainer> {
    let candidates: Vec<usize> = (0..scan.blocks.len())
        .filter(|&b| {
            names
                .site(b)
                .is_some_and(|c| c.file == file && c.line == line)
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    // What holds most of the site's blocks: a few may be reached only
    // through stale copies on a stack (the last call's locals), so a site
    // whose blocks are mostly unreached is a cycle or unreachable, and one
    // whose blocks are mostly reached is held the way most of them are
    // (the same root, through blocks of the same sites), then from the
    // earliest kind of root, then the shortest way.
    let reached: Vec<(Vec<usize>, usize, usize)> =
        candidates.iter().filter_map(|&b| chain(scan, b)).collect();
    if reached.len() * 2 >= candidates.len() {
        // (root range, the holders' sites) → (blocks held so, one of them)
        let mut groups: HashMap<Holding, (usize, usize)> = HashMap::new();
        for (i, (blocks, range, _)) in reached.iter().enumerate() {
            let holders = blocks[1..]
                .iter()
                .map(|&h| names.site(h).map(|c| (c.file, c.line)))
                .collect();
            groups.entry((*range, holders)).or_insert((0, i)).0 += 1;
        }
        let (_, &(_, representative)) = groups
            .iter()
            .max_by_key(|((range, holders), (count, _))| {
                (
                    *count,
                    std::cmp::Reverse(root_rank(scan.roots[*range].kind)),
                    std::cmp::Reverse(holders.len()),
                )
            })
            .expect("a reached block");
        let (blocks, range, at) = reached[representative].clone();
        let (mut kind, mut root) = names.root(&scan.roots[range], at);
        // The holders, from the root down, the leaked block left out.
        let mut path: Vec<Caller> = Vec::new();
        for &b in blocks.iter().rev().take(blocks.len() - 1) {
            if kind != RetainerKind::Task && names.is_task(b) {
                kind = RetainerKind::Task;
                let spawn = names.holder(b);
                root = format!("spawned at {}:{}", spawn.file, spawn.line);
                path.clear();
                continue;
            }
            let caller = names.holder(b);
            if path.last() != Some(&caller) {
                path.push(caller);
            }
        }
        return Some(Retainer { kind, root, path });
    }
    // Unreached: a cycle its blocks are in, or nothing.
    let unreached = candidates
        .iter()
        .copied()
        .filter(|&b| scan.parents[b] == Parent::None);
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(from, to) in &scan.unreached_edges {
        next.entry(from as usize).or_default().push(to as usize);
    }
    for b in unreached.take(16) {
        if let Some(cycle) = cycle_through(&next, b) {
            // Every block of the cycle, by where it was allocated.
            let path = cycle.into_iter().map(|c| names.holder(c)).collect();
            return Some(Retainer {
                kind: RetainerKind::Cycle,
                root: String::new(),
                path,
            });
        }
    }
    Some(Retainer {
        kind: RetainerKind::Unreachable,
        root: String::new(),
        path: Vec::new(),
    })
}

fn root_rank(kind: RootKind) -> u8 {
    match kind {
        RootKind::Static(_) => 0,
        RootKind::ThreadLocal { .. } => 1,
        RootKind::Stack { .. } => 2,
        RootKind::Registers { .. } => 3,
    }
}

/// The blocks from `b` up to the one a root points at (`b` first), that
/// root range and the address of the pointer in it; `None` if no root
/// reaches `b`.
fn chain(scan: &Scan, b: usize) -> Option<(Vec<usize>, usize, usize)> {
    let mut blocks = vec![b];
    let mut at = b;
    loop {
        match scan.parents[at] {
            Parent::None => return None,
            Parent::Root { range, at: addr } => return Some((blocks, range as usize, addr)),
            Parent::Block { block, .. } => {
                at = block as usize;
                if blocks.len() > scan.blocks.len() {
                    return None;
                }
                blocks.push(at);
            }
        }
    }
}

/// The blocks of a cycle through `b` among the blocks no root reaches
/// (`b` first), if there is one; `next` holds the pointers between them.
fn cycle_through(next: &HashMap<usize, Vec<usize>>, b: usize) -> Option<Vec<usize>> {
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([b]);
    while let Some(x) = queue.pop_front() {
        for &y in next.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
            if y == b {
                let mut cycle = vec![b];
                let mut at = x;
                while at != b {
                    cycle.push(at);
                    at = parent[&at];
                }
                return Some(cycle);
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(y) {
                e.insert(x);
                queue.push_back(y);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_paths_of_statics_and_thread_locals() {
        assert_eq!(
            rust_path("_ZN7fixture8REGISTRY17h0123456789abcdefE"),
            "fixture::REGISTRY"
        );
        assert_eq!(
            rust_path(
                "_ZN7fixture5CACHE29_$u7b$$u7b$constant$u7d$$u7d$28_$u7b$$u7b$closure$u7d$$u7d$3VAL17h0123456789abcdefE"
            ),
            "fixture::CACHE"
        );
    }
}
