//! Realistic files of each format, shaped like the ones leakcheck writes:
//! deep call paths through std, a registry crate and the workspace, every
//! verdict, optional fields both set and left out.
//!
//! Shared with the fuzz crate's seed-corpus example.

use leakcheck_rt::report::{
    REPORT_VERSION, Report, SessionReport, SessionSite, SessionVerdict, SiteReport, SiteVerdict,
    TestReport, TestVerdict,
};
use leakcheck_rt::session::{SessionRecord, TestDelta};
use leakcheck_rt::{Frame, FrameKind, Snapshot, Trace, Traceback};

fn frame(file: &str, line: u32, function: &str, kind: FrameKind) -> Frame {
    Frame {
        file: file.into(),
        line,
        function: function.into(),
        kind,
    }
}

/// A call path from the test harness down into `Vec`'s allocation.
fn path(test: &str, user: Frame, inner: &[Frame]) -> Traceback {
    let std = |file: &str, line, function: &str| {
        frame(&format!("std:{file}"), line, function, FrameKind::Std)
    };
    let mut frames = vec![
        std("std/src/rt.rs", 175, "std::rt::lang_start_internal"),
        std("test/src/lib.rs", 666, "test::run_test_in_process"),
        frame(
            "tests/service.rs",
            40,
            &format!("service::{test}"),
            FrameKind::Workspace,
        ),
        user,
    ];
    frames.extend_from_slice(inner);
    frames.push(std(
        "alloc/src/raw_vec/mod.rs",
        479,
        "alloc::raw_vec::RawVecInner<A>::try_allocate_in",
    ));
    frames.push(std(
        "alloc/src/alloc.rs",
        249,
        "alloc::alloc::Global::alloc_impl",
    ));
    Traceback::new(frames)
}

/// A snapshot of a service that caches every payload, a registry crate's
/// LRU and a line with no debug info.
pub fn snapshot() -> Snapshot {
    let handle = frame(
        "src/lib.rs",
        10,
        "service::Service::handle_request",
        FrameKind::Workspace,
    );
    let lru = frame(
        "lru-0.6.0/src/lib.rs",
        123,
        "lru::LruCache<K,V>::put",
        FrameKind::Registry,
    );
    let unknown = frame("<unknown>", 0, "<unknown>", FrameKind::Other);
    Snapshot::from_traces(
        vec![
            Trace {
                traceback: path("retains_payloads", handle.clone(), &[]),
                size: 10_240_000,
                count: 10_000,
            },
            Trace {
                traceback: path("caches_lookups", handle, std::slice::from_ref(&lru)),
                size: 65_536,
                count: 64,
            },
            Trace {
                traceback: path(
                    "caches_lookups",
                    frame(
                        "src/cache.rs",
                        31,
                        "service::cache::Cache::new",
                        FrameKind::Workspace,
                    ),
                    &[lru],
                ),
                size: 4096,
                count: 1,
            },
            Trace {
                traceback: Traceback::new(vec![unknown]),
                size: 24,
                count: 1,
            },
        ],
        25,
    )
}

/// The record of a session whose tests each left one registry entry.
pub fn session_record() -> SessionRecord {
    let snap = snapshot();
    let one = |i: usize| Snapshot::from_traces(snap.traces()[i..=i].to_vec(), 25);
    SessionRecord {
        leak_tests: vec!["retains_payloads".into()],
        per_test: vec![
            TestDelta {
                test: "plain_00".into(),
                retained: one(1).into(),
            },
            TestDelta {
                test: "plain_01".into(),
                retained: one(2).into(),
            },
        ],
        live: snap.into(),
    }
}

/// The per-test report of a leak test that found a leak and a plateau.
pub fn test_report() -> TestReport {
    TestReport {
        binary: "leak".into(),
        name: "handle_request_retains_every_payload".into(),
        verdict: TestVerdict::Leak,
        iters: 10_000,
        sites: vec![
            SiteReport {
                retained_by: Vec::new(),
                file: "src/lib.rs".into(),
                line: 10,
                function: "service::Service::handle_request".into(),
                verdict: SiteVerdict::Leak,
                bytes_per_iter: 1024.0,
                blocks_per_iter: 1.0,
                size_diff: 10_240_000,
                count_diff: 10_000,
                traceback: vec![
                    "tests/service.rs:40".into(),
                    "src/lib.rs:10".into(),
                    "std:alloc/src/raw_vec/mod.rs:479".into(),
                ],
                series: Vec::new(),
                caller: None,
            },
            SiteReport {
                retained_by: Vec::new(),
                file: "lru-0.6.0/src/lib.rs".into(),
                line: 123,
                function: "lru::LruCache<K,V>::put".into(),
                verdict: SiteVerdict::Plateau,
                bytes_per_iter: 6.55,
                blocks_per_iter: 0.0064,
                size_diff: 65_536,
                count_diff: 64,
                traceback: Vec::new(),
                series: Vec::new(),
                caller: None,
            },
        ],
        error: None,
        warnings: Vec::new(),
    }
}

/// A whole run: a leak, a clean test, one that crashed, and session growth.
pub fn report() -> Report {
    Report {
        version: REPORT_VERSION,
        tests: vec![
            test_report(),
            TestReport {
                binary: "leak".into(),
                name: "bounded_cache_is_clean".into(),
                verdict: TestVerdict::Clean,
                iters: 10_000,
                sites: Vec::new(),
                error: None,
                warnings: Vec::new(),
            },
            TestReport {
                binary: "crash".into(),
                name: "segfaults".into(),
                verdict: TestVerdict::Error,
                iters: 0,
                sites: Vec::new(),
                error: Some("the test binary was killed by signal 11 (SIGSEGV)".into()),
                warnings: Vec::new(),
            },
        ],
        session: SessionReport {
            verdict: SessionVerdict::Growth,
            sites: vec![
                SessionSite {
                    retained_by: Vec::new(),
                    binary: "suite".into(),
                    file: "src/lib.rs".into(),
                    line: 7,
                    function: "fixture::register".into(),
                    size_diff: 49_152,
                    count_diff: 12,
                    tests: vec!["plain_00".into(), "plain_01".into()],
                    growth: true,
                    known: None,
                    accepted: false,
                },
                SessionSite {
                    retained_by: Vec::new(),
                    binary: String::new(),
                    file: "src/config.rs".into(),
                    line: 3,
                    function: String::new(),
                    size_diff: -512,
                    count_diff: 1,
                    tests: vec!["plain_00".into()],
                    growth: false,
                    known: None,
                    accepted: false,
                },
            ],
        },
        unwinder: Vec::new(),
    }
}
