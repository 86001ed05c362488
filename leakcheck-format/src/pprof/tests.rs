//! Round trips, hostile input and the frames of Go's and jemalloc_pprof's
//! profiles.

use super::encode::encode_plain;
use super::*;
use crate::{FileError, Frame, FrameKind, Sampling, Snapshot, SnapshotOrigin, Trace, Traceback};

fn frame(file: &str, line: u32, function: &str, kind: FrameKind) -> Frame {
    Frame {
        file: file.into(),
        line,
        function: function.into(),
        kind,
    }
}

/// Two traces sharing their outer frames, the first through std.
fn snapshot() -> Snapshot {
    let main = frame("src/main.rs", 40, "service::main", FrameKind::Workspace);
    let handle = frame("src/lib.rs", 12, "service::handle", FrameKind::Workspace);
    let lru = frame(
        "lru-0.6.0/src/lib.rs",
        7,
        "lru::LruCache::put",
        FrameKind::Registry,
    );
    let vec = frame(
        "std:alloc/src/raw_vec.rs",
        480,
        "alloc::raw_vec::RawVec<T>::grow",
        FrameKind::Std,
    );
    let traces = vec![
        Trace {
            traceback: Traceback::new(vec![main.clone(), handle.clone(), lru, vec]),
            size: 1_048_576,
            count: 1024,
        },
        Trace {
            traceback: Traceback::new(vec![main, handle]),
            size: 4096,
            count: 1,
        },
    ];
    Snapshot::from_traces(traces, 0).with_origin(SnapshotOrigin {
        leakcheck: "0.1.0".into(),
        pid: 42,
        process_started_ms: 1_796_637_600_000,
        seq: 3,
        uptime_ms: 120_000,
        taken_at_ms: 1_796_637_720_000,
        sampling: None,
        memory: None,
    })
}

fn corrupt_reason(data: &[u8]) -> String {
    match Snapshot::from_pprof(data, "heap.pb.gz") {
        Err(FileError::Corrupt { reason, .. }) => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_snapshot_reads_back_with_its_traces_and_time() {
    let snap = snapshot();
    let bytes = snap.to_pprof();
    assert!(is_pprof(&bytes));
    let back = Snapshot::from_pprof(&bytes, "heap.pb.gz").unwrap();
    assert_eq!(back.traces(), snap.traces());
    let origin = back.origin().unwrap();
    assert_eq!(origin.taken_at_ms, 1_796_637_720_000);
    assert_eq!(origin.uptime_ms, 1_796_637_720_000);
    assert_eq!((origin.pid, origin.seq, origin.sampling), (0, 0, None));
    // The plain protobuf reads the same.
    let plain = encode_plain(&snap.to_pprof_profile());
    assert!(is_pprof(&plain));
    assert_eq!(Snapshot::from_pprof(&plain, "heap.pb").unwrap(), back);
}

#[test]
fn the_profile_has_pprof_s_heap_shape() {
    let p = snapshot().to_pprof_profile();
    let names: Vec<_> = p
        .sample_type
        .iter()
        .map(|t| (p.string(t.ty).unwrap(), p.string(t.unit).unwrap()))
        .collect();
    assert_eq!(
        names,
        [("inuse_objects", "count"), ("inuse_space", "bytes")]
    );
    assert_eq!(p.string(p.default_sample_type), Some("inuse_space"));
    assert_eq!(p.period, 1);
    assert_eq!(p.string_table[0], "");
    // Innermost first: the std frame, then the workspace's.
    let leaf = &p.location[p.sample[0].location_id[0] as usize - 1];
    let f = p.function[leaf.line[0].function_id as usize - 1];
    assert_eq!(p.string(f.name), Some("alloc::raw_vec::RawVec<T>::grow"));
    assert_eq!(leaf.line[0].line, 480);
    assert_eq!(p.sample[0].value, [1024, 1_048_576]);
    // Shared frames are one location each.
    assert_eq!(p.location.len(), 4);
    assert_eq!(p.function.len(), 4);
    assert_eq!(p.time_nanos, 1_796_637_720_000_000_000);
}

#[test]
fn a_sampled_snapshot_says_so() {
    let sampling = Sampling {
        mean_bytes: 512 * 1024,
        min_one_in: 1024,
    };
    let snap = snapshot();
    let mut origin = snap.origin().unwrap().clone();
    origin.sampling = Some(sampling);
    let p = snap.with_origin(origin).to_pprof_profile();
    assert_eq!(p.period, 512 * 1024);
    let comments: Vec<_> = p.comment.iter().map(|&c| p.string(c).unwrap()).collect();
    assert_eq!(
        comments,
        [
            "leakcheck 0.1.0: snapshot 3 of pid 42",
            "estimated, 1 sample per 512 KiB and at least 1 in 1024 allocations"
        ]
    );
    let back = Snapshot::from_pprof(&encode(&p), "x").unwrap();
    let read = back.sampling().unwrap();
    assert_eq!((read.mean_bytes, read.min_one_in), (512 * 1024, 0));
    assert_eq!(read.describe(), "estimated, 1 sample per 512 KiB");
}

/// What Go's encoder does and prost's does not: repeated scalars one by one
/// when there are few, fields in another order, unknown fields.
#[test]
fn unpacked_fields_and_unknown_ones_are_read() {
    use super::wire::{VARINT, Writer, put_varint};
    let mut w = Writer::default();
    let strings = ["", "inuse_space", "bytes", "main.leak", "/src/leak/main.go"];
    for s in strings {
        w.bytes(6, s.as_bytes());
    }
    w.message(4, |w| {
        w.uint(1, 7);
        w.message(4, |w| {
            w.uint(1, 9);
            w.int(2, 21);
        });
    });
    w.message(5, |w| {
        w.uint(1, 9);
        w.int(2, 3);
        w.int(4, 4);
    });
    // A sample with location_id and value unpacked, and a field 99.
    w.message(2, |w| {
        put_varint(&mut w.buf, 1 << 3 | u64::from(VARINT));
        put_varint(&mut w.buf, 7);
        put_varint(&mut w.buf, 2 << 3 | u64::from(VARINT));
        put_varint(&mut w.buf, 5000);
        w.uint(99, 1);
    });
    w.message(1, |w| {
        w.int(1, 1);
        w.int(2, 2);
    });
    w.int(9, 1_000_000_000);
    let snap = Snapshot::from_pprof(&w.buf, "go.pb").unwrap();
    let [trace] = snap.traces() else {
        panic!("{:?}", snap.traces())
    };
    assert_eq!((trace.size, trace.count), (5000, 0));
    assert_eq!(
        trace.traceback.frames(),
        [frame(
            "/src/leak/main.go",
            21,
            "main.leak",
            FrameKind::Other
        )]
    );
    assert_eq!(snap.origin().unwrap().taken_at_ms, 1000);
}

#[test]
fn hostile_input_is_a_one_line_error() {
    let good = snapshot().to_pprof();
    // Cut short: the gzip stream, and the protobuf inside.
    let reason = corrupt_reason(&good[..good.len() / 2]);
    assert!(reason.starts_with("bad gzip stream: "), "{reason}");
    let plain = encode_plain(&snapshot().to_pprof_profile());
    let reason = corrupt_reason(&plain[..plain.len() - 3]);
    assert!(
        reason.contains("runs past the end") || reason.contains("cut short"),
        "{reason}"
    );
    // A varint of eleven bytes.
    let mut bad = vec![0x0a, 0x0b, 0x08];
    bad.extend([0xff; 10]);
    assert!(corrupt_reason(&bad).contains("bad varint"));
    // A string index past the table.
    let mut p = snapshot().to_pprof_profile();
    p.function[0].filename = 1000;
    assert_eq!(
        corrupt_reason(&encode(&p)),
        format!(
            "a function's filename names string 1000, out of range (the string table has {})",
            p.string_table.len()
        )
    );
    // No heap sample type.
    let mut p = snapshot().to_pprof_profile();
    let cpu = p.string_table.len() as i64;
    p.string_table.extend(["cpu".into(), "nanoseconds".into()]);
    p.sample_type = vec![ValueType {
        ty: cpu,
        unit: cpu + 1,
    }];
    for s in &mut p.sample {
        s.value.truncate(1);
    }
    assert_eq!(
        corrupt_reason(&encode(&p)),
        "it has no inuse_space sample type (it has cpu/nanoseconds); give a heap profile"
    );
    let mut p = snapshot().to_pprof_profile();
    p.sample_type.clear();
    assert_eq!(
        corrupt_reason(&encode(&p)),
        "sample 0 has 2 values for 0 sample types"
    );
    // A sample naming a missing location.
    let mut p = snapshot().to_pprof_profile();
    p.sample[1].location_id.push(77);
    assert_eq!(
        corrupt_reason(&encode(&p)),
        "sample 1 names location 77, which is not in the profile"
    );
    // The whole error names the file.
    let e = Snapshot::from_pprof(&good[..10], "dumps/heap.pb.gz").unwrap_err();
    let line = e.to_string();
    assert!(
        line.starts_with("pprof profile dumps/heap.pb.gz is corrupt or truncated: "),
        "{line}"
    );
    assert!(!line.contains('\n'));
    assert!(matches!(
        Snapshot::from_pprof(b"", "x"),
        Err(FileError::Empty { .. })
    ));
}

#[test]
fn every_prefix_of_a_profile_fails_cleanly_or_reads() {
    let plain = encode_plain(&snapshot().to_pprof_profile());
    for n in 0..plain.len() {
        let _ = Snapshot::from_pprof(&plain[..n], "x");
    }
    let gz = snapshot().to_pprof();
    for n in 0..gz.len() {
        assert!(Snapshot::from_pprof(&gz[..n], "x").is_err(), "{n}");
    }
}

#[test]
fn json_is_not_taken_for_a_profile() {
    let json = snapshot().to_json();
    assert!(!is_pprof(json.as_bytes()));
    assert!(!is_pprof(b"\n{\"format\": 1}"));
    assert!(!is_pprof(b""));
}

/// jemalloc_pprof with its `symbolize` feature: jemalloc's own frames and
/// Rust's allocation shims at the leaf, a registry crate, the service.
#[test]
fn allocator_and_std_frames_are_never_charged() {
    let f = |function: &str, file: &str| super::frames::frame(function, file, 10);
    let registry = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
    let path = vec![
        f("service::main::h0123456789abcdef", "/work/svc/src/main.rs"),
        f("service::handle", "/work/svc/src/lib.rs"),
        f(
            "alloc::vec::Vec<T>::push",
            "/rustc/abc/library/alloc/src/vec/mod.rs",
        ),
        f("__rust_alloc", ""),
        f(
            "<tikv_jemallocator::Jemalloc as core::alloc::global::GlobalAlloc>::alloc",
            &format!("{registry}/tikv-jemallocator-0.6.0/src/lib.rs"),
        ),
        f(
            "prof_backtrace_impl",
            &format!("{registry}/tikv-jemalloc-sys-0.6.0/jemalloc/src/prof_sys.c"),
        ),
        f("_rjem_je_malloc_default", ""),
    ];
    assert_eq!(path[0].function, "service::main");
    assert_eq!(path[2].file, "std:alloc/src/vec/mod.rs");
    for allocator in &path[2..] {
        assert_eq!(allocator.kind, FrameKind::Std, "{allocator:?}");
    }
    let charged = Traceback::new(path).charged_frame().unwrap().clone();
    assert_eq!(charged.function, "service::handle");
    assert_eq!(charged.file, "/work/svc/src/lib.rs");

    // Go: the runtime and the standard library allocate for main.leak.
    let go = vec![
        f("main.main", "/tmp/leaky/main.go"),
        f("main.leak", "/tmp/leaky/main.go"),
        f("bytes.growSlice", "/usr/lib/go-1.19/src/bytes/buffer.go"),
        f("runtime.makeslice", "/usr/local/go/src/runtime/slice.go"),
        f("runtime.mallocgc", "/opt/sdk/runtime/malloc.go"),
    ];
    for std in &go[2..] {
        assert_eq!(std.kind, FrameKind::Std, "{std:?}");
    }
    let charged = Traceback::new(go).charged_frame().unwrap().clone();
    assert_eq!(charged.function, "main.leak");
}

/// The frames of a leak in `tests/fixtures/jemalloc-service`'s profile, as
/// `jemalloc_pprof` 0.9 symbolizes them (Rust 1.95, `debug = "limited"`),
/// leaf last: rustc's allocation shim is `__rustc::__rust_realloc`, at the
/// `#[global_allocator]` line of the service's own `main.rs`.
#[test]
fn rustc_s_allocation_shims_are_never_charged() {
    let f = |function: &str, file: &str, line| super::frames::frame(function, file, line);
    let main = "/work/svc/src/main.rs";
    let build = "/work/svc/target/release/build/tikv-jemalloc-sys-0123456789abcdef/out/build";
    let path = vec![
        f("jemalloc_service::handle_work", main, 83),
        f("jemalloc_service::remember_request", main, 64),
        f(
            "alloc::vec::Vec<T,A>::push",
            "/rustc/abc/library/alloc/src/vec/mod.rs",
            992,
        ),
        f(
            "alloc::alloc::realloc",
            "/rustc/abc/library/alloc/src/alloc.rs",
            135,
        ),
        f("__rustc::__rust_realloc", main, 22),
        f(
            "<tikv_jemallocator::Jemalloc as core::alloc::global::GlobalAlloc>::realloc",
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tikv-jemallocator-0.7.0/src/lib.rs",
            133,
        ),
        f("do_rallocx", &format!("{build}/src/jemalloc.c"), 2517),
        f(
            "prof_alloc_prep",
            &format!("{build}/include/jemalloc/internal/prof_inlines.h"),
            171,
        ),
        f(
            "_rjem_je_prof_backtrace",
            &format!("{build}/src/prof_sys.c"),
            530,
        ),
    ];
    for allocator in &path[2..] {
        assert_eq!(allocator.kind, FrameKind::Std, "{allocator:?}");
    }
    let charged = Traceback::new(path).charged_frame().unwrap().clone();
    assert_eq!(charged.function, "jemalloc_service::remember_request");
    assert_eq!((charged.file.as_str(), charged.line), (main, 64));
    let alloc = f("__rustc::__rust_alloc", main, 22);
    assert_eq!(alloc.kind, FrameKind::Std, "{alloc:?}");
}

#[test]
fn a_profile_of_addresses_names_them_by_their_object() {
    let mut p = snapshot().to_pprof_profile();
    let bin = p.string_table.len() as i64;
    p.string_table.push("/usr/bin/service".into());
    p.mapping.push(Mapping {
        id: 1,
        memory_limit: u64::MAX,
        filename: bin,
        ..Mapping::default()
    });
    for l in &mut p.location {
        l.line.clear();
        l.mapping_id = 1;
        l.address = 0x1000 + l.id;
    }
    let snap = Snapshot::from_pprof(&encode(&p), "x").unwrap();
    let frames = snap.traces()[1].traceback.frames();
    assert_eq!(
        frames,
        [
            frame("<unknown>", 0, "0x1004 in service", FrameKind::Other),
            frame("<unknown>", 0, "0x1003 in service", FrameKind::Other)
        ]
    );
}

/// What `jemalloc_pprof` (0.8, `pprof_util::StackProfile::to_pprof`) writes
/// with its `symbolize` feature: one sample type, `inuse_space`/`bytes`,
/// already unbiased; `period_type` `space`/`bytes` and no period; one
/// mapping per object, over the whole address space; a location per
/// address, with a line per inlined function (innermost first), each
/// function named by its demangled path and its file as debug info has it.
#[test]
fn a_jemalloc_pprof_profile_is_charged_to_the_service_s_line() {
    use super::encode::encode;
    let mut strings = vec![String::new()];
    let mut s = |text: &str| {
        strings.push(text.to_owned());
        strings.len() as i64 - 1
    };
    let registry = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
    let functions = [
        (
            "_rjem_je_prof_backtrace",
            format!("{registry}/tikv-jemalloc-sys-0.6.0+5.3.0/jemalloc/src/prof.c"),
        ),
        (
            "_rjem_malloc",
            format!("{registry}/tikv-jemalloc-sys-0.6.0+5.3.0/jemalloc/src/jemalloc.c"),
        ),
        (
            "alloc::alloc::alloc",
            "/rustc/17067e9/library/alloc/src/alloc.rs".to_owned(),
        ),
        (
            "alloc::vec::Vec<T>::with_capacity",
            "/rustc/17067e9/library/alloc/src/vec/mod.rs".to_owned(),
        ),
        (
            "svc::Cache::remember",
            "/home/me/svc/src/cache.rs".to_owned(),
        ),
        ("svc::main", "/home/me/svc/src/main.rs".to_owned()),
    ];
    let mut p = Profile {
        sample_type: vec![ValueType {
            ty: s("inuse_space"),
            unit: s("bytes"),
        }],
        period_type: Some(ValueType {
            ty: s("space"),
            unit: s("bytes"),
        }),
        time_nanos: 1_796_637_600_000_000_000,
        ..Profile::default()
    };
    p.mapping.push(Mapping {
        id: 1,
        memory_limit: u64::MAX,
        filename: s("/home/me/svc/target/release/svc"),
        build_id: s("8c1e0fa8"),
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: true,
        ..Mapping::default()
    });
    for (i, (name, file)) in functions.iter().enumerate() {
        let name = s(name);
        p.function.push(Function {
            id: i as u64 + 1,
            name,
            system_name: name,
            filename: s(file),
            start_line: 0,
        });
    }
    let line = |function_id, line| Line {
        function_id,
        line,
        column: 0,
    };
    // jemalloc's two frames; then std's allocation inlined into
    // `remember` at one address; then `main`.
    p.location = vec![
        Location {
            id: 1,
            mapping_id: 1,
            address: 0x1000,
            line: vec![line(1, 52)],
            ..Location::default()
        },
        Location {
            id: 2,
            mapping_id: 1,
            address: 0x2000,
            line: vec![line(2, 2000)],
            ..Location::default()
        },
        Location {
            id: 3,
            mapping_id: 1,
            address: 0x3000,
            line: vec![line(3, 98), line(4, 480), line(5, 17)],
            ..Location::default()
        },
        Location {
            id: 4,
            mapping_id: 1,
            address: 0x4000,
            line: vec![line(6, 9)],
            ..Location::default()
        },
    ];
    p.sample.push(Sample {
        location_id: vec![1, 2, 3, 4],
        value: vec![3_355_443],
        label: Vec::new(),
    });
    p.string_table = strings;

    let snap = Snapshot::from_pprof(&encode(&p), "jemalloc.pb.gz").unwrap();
    let [trace] = snap.traces() else {
        panic!("{:?}", snap.traces())
    };
    assert_eq!((trace.size, trace.count), (3_355_443, 0));
    assert_eq!(snap.sampling(), None);
    let functions: Vec<&str> = trace
        .traceback
        .frames()
        .iter()
        .map(|f| f.function.as_str())
        .collect();
    assert_eq!(
        functions,
        [
            "svc::main",
            "svc::Cache::remember",
            "alloc::vec::Vec<T>::with_capacity",
            "alloc::alloc::alloc",
            "_rjem_malloc",
            "_rjem_je_prof_backtrace"
        ]
    );
    let charged = trace.traceback.charged_frame().unwrap();
    assert_eq!(
        (charged.file.as_str(), charged.line),
        ("/home/me/svc/src/cache.rs", 17)
    );
}

/// jemalloc_pprof's profiles count no blocks: a series of them is judged by
/// its bytes alone.
#[test]
fn a_series_without_block_counts_is_judged_by_bytes() {
    let series: Vec<Snapshot> = (1..=4u64)
        .map(|i| {
            let mut p = snapshot().to_pprof_profile();
            p.sample_type.remove(0);
            for s in &mut p.sample {
                s.value = vec![s.value[1] * i as i64];
            }
            p.time_nanos = i as i64 * 60_000_000_000;
            Snapshot::from_pprof(&encode(&p), "x").unwrap()
        })
        .collect();
    assert!(
        series
            .iter()
            .all(|s| s.traces().iter().all(|t| t.count == 0))
    );
    let judged = crate::judge_series(&series.iter().collect::<Vec<_>>(), 256);
    let site = &judged.sites[0].report;
    assert_eq!((site.file.as_str(), site.line), ("lru-0.6.0/src/lib.rs", 7));
    assert_eq!(site.verdict, crate::report::SiteVerdict::Leak);
    assert_eq!(site.count_diff, 0);
}
