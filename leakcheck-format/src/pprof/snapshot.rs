//! A [`Snapshot`] as a pprof heap profile and back.
//!
//! Written: sample types `inuse_objects`/`count` and `inuse_space`/`bytes`
//! (the default), one sample per trace with the trace's (for a sampled
//! snapshot, estimated) blocks and bytes, one location per distinct frame
//! (pprof's call paths are innermost first, leakcheck's oldest first), each
//! with one line of a function named by its demangled path and file.
//! `period_type` is `space`/`bytes`; `period` the sampling's mean bytes, or
//! 1 for exact counts; a comment says how a sampled snapshot was sampled.
//!
//! Read: `inuse_space` (which every heap profile has: Go's, jemalloc_pprof's,
//! leakcheck's) and `inuse_objects` when there is one (jemalloc_pprof has
//! none: its traces count 0 blocks). The values are taken as they are:
//! Go and jemalloc_pprof already scale sampled values up to estimates. A
//! profile has no process: a snapshot read from one has pid 0, started at
//! the Unix epoch, its `uptime_ms` and `taken_at_ms` the profile's
//! `time_nanos` in milliseconds, `seq` 0 (a series numbers its files in
//! the order given), `leakcheck` empty; no origin at all without
//! `time_nanos`. A sampled profile (`period_type` `space`/`bytes` and a
//! `period` above 1) is marked sampled by that mean, without a floor.

use std::collections::HashMap;
use std::path::Path;

use super::frames::{address_frame, frame};
use super::profile::{Function, Line, Location, Profile, Sample, ValueType};
use super::{decode, encode};
use crate::file_format::{self, FileError, FileKind, corrupt};
use crate::snapshot::{Sampling, Snapshot, SnapshotOrigin, Trace};
use crate::traceback::{Frame, Traceback};

/// A string table under construction: each string once, `""` first.
#[derive(Debug)]
struct Strings {
    index: HashMap<String, i64>,
    table: Vec<String>,
}

impl Strings {
    fn new() -> Self {
        Strings {
            index: HashMap::from([(String::new(), 0)]),
            table: vec![String::new()],
        }
    }

    fn get(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

impl Snapshot {
    /// Writes the snapshot as a gzip'd pprof heap profile (see
    /// [`Snapshot::to_pprof`]), replaced atomically as [`Snapshot::dump`]
    /// replaces its files.
    pub fn dump_pprof(&self, path: impl AsRef<Path>) -> Result<(), FileError> {
        file_format::write(FileKind::Pprof, path.as_ref(), self.to_pprof())
    }

    /// The snapshot as a gzip'd pprof heap profile, as `go tool pprof`
    /// reads it.
    pub fn to_pprof(&self) -> Vec<u8> {
        encode(&self.to_pprof_profile())
    }

    /// The snapshot as a pprof [`Profile`](super::Profile), not encoded.
    pub fn to_pprof_profile(&self) -> Profile {
        let mut s = Strings::new();
        let mut p = Profile {
            sample_type: vec![
                ValueType {
                    ty: s.get("inuse_objects"),
                    unit: s.get("count"),
                },
                ValueType {
                    ty: s.get("inuse_space"),
                    unit: s.get("bytes"),
                },
            ],
            period_type: Some(ValueType {
                ty: s.get("space"),
                unit: s.get("bytes"),
            }),
            ..Profile::default()
        };
        p.default_sample_type = s.get("inuse_space");
        let sampling = self.sampling();
        p.period = sampling.map_or(1, |x| i64::try_from(x.mean_bytes).unwrap_or(i64::MAX));
        if let Some(origin) = self.origin() {
            p.time_nanos = i64::try_from(origin.taken_at_ms)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000);
            if origin.pid != 0 {
                let taken = format!(
                    "leakcheck {}: snapshot {} of pid {}",
                    origin.leakcheck, origin.seq, origin.pid
                );
                p.comment.push(s.get(&taken));
            }
        }
        if let Some(sampling) = sampling {
            p.comment.push(s.get(&sampling.describe()));
        }
        let mut functions: HashMap<(&str, &str), u64> = HashMap::new();
        let mut locations: HashMap<&Frame, u64> = HashMap::new();
        for trace in self.traces() {
            let mut ids = Vec::with_capacity(trace.traceback.len());
            for f in trace.traceback.frames().iter().rev() {
                let id = match locations.get(f) {
                    Some(&id) => id,
                    None => {
                        let key = (f.function.as_str(), f.file.as_str());
                        let function_id = match functions.get(&key) {
                            Some(&id) => id,
                            None => {
                                let id = p.function.len() as u64 + 1;
                                let name = s.get(&f.function);
                                p.function.push(Function {
                                    id,
                                    name,
                                    system_name: name,
                                    filename: s.get(&f.file),
                                    start_line: 0,
                                });
                                functions.insert(key, id);
                                id
                            }
                        };
                        let id = p.location.len() as u64 + 1;
                        p.location.push(Location {
                            id,
                            line: vec![Line {
                                function_id,
                                line: i64::from(f.line),
                                column: 0,
                            }],
                            ..Location::default()
                        });
                        locations.insert(f, id);
                        id
                    }
                };
                ids.push(id);
            }
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            p.sample.push(Sample {
                location_id: ids,
                value: vec![clamp(trace.count), clamp(trace.size)],
                label: Vec::new(),
            });
        }
        p.string_table = s.table;
        p
    }

    /// Reads a pprof heap profile written by [`Snapshot::dump_pprof`], Go
    /// or `jemalloc_pprof`.
    pub fn load_pprof(path: impl AsRef<Path>) -> Result<Snapshot, FileError> {
        file_format::load(FileKind::Pprof, path.as_ref(), Self::from_pprof)
    }

    /// Parses a pprof heap profile, gzip'd or plain (see the module docs
    /// for what is read); `origin` names the input in errors.
    pub fn from_pprof(data: &[u8], origin: &str) -> Result<Snapshot, FileError> {
        if data.is_empty() {
            return Err(FileError::Empty {
                kind: FileKind::Pprof,
                origin: origin.to_owned(),
            });
        }
        let p = decode(data).map_err(|reason| corrupt(FileKind::Pprof, origin, reason))?;
        from_profile(&p).map_err(|reason| corrupt(FileKind::Pprof, origin, reason))
    }
}

/// The index of the sample type named `name`.
fn sample_type(p: &Profile, name: &str) -> Option<usize> {
    p.sample_type
        .iter()
        .position(|t| p.string(t.ty) == Some(name))
}

fn from_profile(p: &Profile) -> Result<Snapshot, String> {
    let Some(space) = sample_type(p, "inuse_space") else {
        let found: Vec<String> = p
            .sample_type
            .iter()
            .map(|t| {
                format!(
                    "{}/{}",
                    p.string(t.ty).unwrap_or_default(),
                    p.string(t.unit).unwrap_or_default()
                )
            })
            .collect();
        return Err(match found.is_empty() {
            true => "it has no sample type; give a heap profile".into(),
            false => format!(
                "it has no inuse_space sample type (it has {}); give a heap profile",
                found.join(", ")
            ),
        });
    };
    let objects = sample_type(p, "inuse_objects");
    let functions: HashMap<u64, &Function> = p.function.iter().map(|f| (f.id, f)).collect();
    let objects_of: HashMap<u64, &str> = p
        .mapping
        .iter()
        .map(|m| (m.id, p.string(m.filename).unwrap_or_default()))
        .collect();
    // Each location's frames, innermost first.
    let mut frames: HashMap<u64, Vec<Frame>> = HashMap::new();
    for l in &p.location {
        let of_location = if l.line.is_empty() {
            let object = objects_of.get(&l.mapping_id).copied().unwrap_or_default();
            vec![address_frame(l.address, object)]
        } else {
            l.line
                .iter()
                .map(|line| {
                    let f = functions[&line.function_id];
                    let mut name = p.string(f.name).unwrap_or_default();
                    if name.is_empty() {
                        name = p.string(f.system_name).unwrap_or_default();
                    }
                    frame(name, p.string(f.filename).unwrap_or_default(), line.line)
                })
                .collect()
        };
        frames.insert(l.id, of_location);
    }
    let mut traces: Vec<Trace> = Vec::new();
    let mut seen: HashMap<Traceback, usize> = HashMap::new();
    for sample in &p.sample {
        let size = sample.value[space].max(0) as u64;
        let count = objects.map_or(0, |i| sample.value[i].max(0) as u64);
        if size == 0 && count == 0 {
            continue;
        }
        let mut path: Vec<Frame> = sample
            .location_id
            .iter()
            .flat_map(|id| frames[id].iter().cloned())
            .collect();
        path.reverse();
        let traceback = Traceback::new(path);
        match seen.get(&traceback) {
            Some(&i) => {
                traces[i].size = traces[i].size.saturating_add(size);
                traces[i].count = traces[i].count.saturating_add(count);
            }
            None => {
                seen.insert(traceback.clone(), traces.len());
                traces.push(Trace {
                    traceback,
                    size,
                    count,
                });
            }
        }
    }
    let snapshot = Snapshot::from_traces(traces, 0);
    if p.time_nanos <= 0 {
        return Ok(snapshot);
    }
    let ms = (p.time_nanos / 1_000_000) as u64;
    let by_bytes = p
        .period_type
        .is_some_and(|t| p.string(t.ty) == Some("space") && p.string(t.unit) == Some("bytes"));
    let sampling = (by_bytes && p.period > 1).then_some(Sampling {
        mean_bytes: p.period as u64,
        min_one_in: 0,
    });
    Ok(snapshot.with_origin(SnapshotOrigin {
        leakcheck: String::new(),
        pid: 0,
        process_started_ms: 0,
        seq: 0,
        uptime_ms: ms,
        taken_at_ms: ms,
        sampling,
        memory: None,
    }))
}
