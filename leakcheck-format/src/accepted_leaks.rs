//! An accepted leak snapshot compared with a new leak report, site by site.
//!
//! A site's identity is its crate without the version, its file and its
//! function; its line is context. A site that moved to another line, or
//! into another release of its registry crate, still matches (and is named
//! as moved); a new site, an accepted site that went away, or a rate above
//! its accepted bucket does not.

use crate::report::TestReport;

/// One leaking site as a normalised leak report names it.
#[derive(Debug, Clone, PartialEq)]
struct Site {
    file: String,
    line: u32,
    function: String,
    bytes: String,
    blocks: String,
}

impl Site {
    /// Crate without its version, file and function.
    fn identity(&self) -> (String, &str) {
        (crate_path(&self.file), &self.function)
    }

    fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A normalised leak report: its test, verdict and leaking sites.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    test: String,
    verdict: String,
    sites: Vec<Site>,
}

/// How a report stands against its accepted snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Accepted sites found at another line or crate release:
    /// `accepted site moved: src/lib.rs:68 → 69`. They pass.
    pub moved: Vec<String>,
    /// What makes the report differ from the accepted one: a new site, an
    /// accepted site gone, a rate past its accepted bucket. Any fails.
    pub changes: Vec<String>,
}

impl Comparison {
    /// `true` when the report is the accepted one (sites may have moved).
    pub fn matches(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The normalised text of `report`, as a leak snapshot holds it.
pub fn normalised(report: &TestReport) -> String {
    crate::leak_text::normalised(report)
}

/// The contents of an insta `.snap` file: what follows its `---` header.
pub fn snapshot_contents(file: &str) -> &str {
    let Some(rest) = file
        .strip_prefix("---\n")
        .or_else(|| file.strip_prefix("---\r\n"))
    else {
        return file;
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "---" {
            return &rest[offset..];
        }
    }
    ""
}

/// Compares the normalised `report` with the `accepted` one (the contents
/// of a `.snap`). A text that is not a normalised leak report (a snapshot
/// an older leakcheck wrote) is compared as insta does, as text.
pub fn compare(accepted: &str, report: &str) -> Comparison {
    let (Some(old), Some(new)) = (parse(accepted), parse(report)) else {
        let norm = |s: &str| s.trim_end().replace("\r\n", "\n");
        let changes = if norm(accepted) == norm(report) {
            Vec::new()
        } else {
            vec!["the report differs from the accepted snapshot".to_owned()]
        };
        return Comparison {
            moved: Vec::new(),
            changes,
        };
    };
    let mut out = Comparison::default();
    if old.test != new.test {
        out.changes
            .push(format!("test name {} → {}", old.test, new.test));
    }
    if old.verdict != new.verdict {
        out.changes
            .push(format!("verdict {} → {}", old.verdict, new.verdict));
    }
    let mut unmatched: Vec<&Site> = new.sites.iter().collect();
    for was in &old.sites {
        let found = unmatched
            .iter()
            .position(|now| now.identity() == was.identity());
        let Some(index) = found else {
            out.changes.push(format!(
                "accepted site gone: {} in {}",
                was.place(),
                was.function
            ));
            continue;
        };
        let now = unmatched.remove(index);
        if now.place() != was.place() {
            let to = if now.file == was.file {
                now.line.to_string()
            } else {
                now.place()
            };
            out.moved
                .push(format!("accepted site moved: {} → {to}", was.place()));
        }
        for (unit, old_rate, new_rate) in [
            ("B/iter", &was.bytes, &now.bytes),
            ("blocks/iter", &was.blocks, &now.blocks),
        ] {
            if rate(new_rate) > rate(old_rate) {
                out.changes.push(format!(
                    "accepted site grew: {} in {}: ~{old_rate} → ~{new_rate} {unit}",
                    now.place(),
                    now.function
                ));
            }
        }
    }
    for now in unmatched {
        out.changes.push(format!(
            "new site: {} in {}  ~{} B/iter",
            now.place(),
            now.function,
            now.bytes
        ));
    }
    out
}

/// A bucketed rate (`1000`, `0.5`) as a number; an unreadable one as
/// infinitely large, so that it never passes for smaller.
fn rate(text: &str) -> f64 {
    text.parse().unwrap_or(f64::INFINITY)
}

/// `tokio-1.54.1/src/runtime/task/core.rs` → `tokio/src/runtime/task/core.rs`:
/// a registry crate's directory without its version. Workspace paths are
/// kept as they are.
pub fn crate_path(file: &str) -> String {
    let (first, rest) = file.split_once('/').unwrap_or((file, ""));
    let versioned = first.char_indices().find(|&(i, c)| {
        c == '-' && {
            let tail = &first[i + 1..];
            let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && tail[digits..].starts_with('.')
        }
    });
    match versioned {
        Some((i, _)) if !rest.is_empty() => format!("{}/{rest}", &first[..i]),
        _ => file.to_owned(),
    }
}

/// Reads a normalised leak report; `None` for any other text.
fn parse(text: &str) -> Option<Parsed> {
    let mut lines = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
    let test = lines.next()?.strip_prefix("test: ")?.to_owned();
    let verdict = lines.next()?.strip_prefix("verdict: ")?.to_owned();
    let mut sites = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split("  ").collect();
        let [place, function, "leak", bytes, blocks] = fields[..] else {
            return None;
        };
        let (file, line) = place.rsplit_once(':')?;
        sites.push(Site {
            file: file.to_owned(),
            line: line.parse().ok()?,
            function: function.to_owned(),
            bytes: bytes.strip_prefix('~')?.strip_suffix(" B/iter")?.to_owned(),
            blocks: blocks
                .strip_prefix('~')?
                .strip_suffix(" blocks/iter")?
                .to_owned(),
        });
    }
    Some(Parsed {
        test,
        verdict,
        sites,
    })
}

#[cfg(test)]
#[path = "accepted_leaks_tests.rs"]
mod tests;
