//! A service profiled as Rust services are in production, judged by
//! `cargo leakcheck diff`: `tests/fixtures/jemalloc-service` runs on
//! jemalloc with its heap profiler on and serves `jemalloc_pprof`'s pprof
//! profile at `/debug/pprof/heap`. The test serves it requests over
//! loopback, takes a series of its profiles as a scraper would, and
//! judges them: the leak is named at its function and line with exit 1,
//! the bounded cache exits 0.
//!
//! Each profile is symbolized in the service (`jemalloc_pprof`'s
//! `symbolize`), so its functions, files and lines are in it. The first
//! one is taken before the symbolizer ever ran; from the second on, what
//! the symbolizer keeps (the binary's parsed debug info, some tens of MB
//! at this sampling rate) is in the heap too, and grows over a dump or
//! two before it stays: a plateau the series must not call a leak.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use leakcheck_tests::{
    Run, cargo_leakcheck_bin, clean_command, fixture, fixture_target_dir, line_of, serial,
};

const FIXTURE: &str = "jemalloc-service";

/// Profiles in a series, one every `INTERVAL`, as a scraper takes them.
/// Enough for the symbolizer's plateau (a dump or two, at the start) to
/// fall in the first third of the series.
const PROFILES: usize = 10;

/// The time from one profile to the next. The series is timed by when each
/// profile was taken, so they are taken on a clock, not after a count of
/// requests: the first dump, which loads the symbolizer, takes longer than
/// the others.
const INTERVAL: Duration = Duration::from_millis(500);

/// `/work` requests before the first profile (the bounded cache fills with
/// 512) and between two profiles. A request leaks 1 KiB; jemalloc samples
/// one allocation per KiB on average.
const REQUESTS: usize = 600;

/// How long the service may take to listen, and a series to be taken.
const DEADLINE: Duration = Duration::from_secs(60);

/// The service's release binary, built once per test process as its crate
/// builds it (jemalloc from its C sources, with profiling).
fn service_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let build: Run = clean_command(
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            &fixture(FIXTURE),
        )
        .args(["build", "--release", "--quiet"])
        .output()
        .expect("cargo runs")
        .into();
        assert_eq!(build.code, Some(0), "{}", build.stderr);
        fixture_target_dir().join("release").join(FIXTURE)
    })
    .clone()
}

/// The running service, in a process group of its own that is killed on
/// drop.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    /// Starts the service with `mode` and waits until it listens.
    fn start(mode: &str) -> Service {
        let mut child = clean_command(service_bin(), &fixture(FIXTURE))
            .args([mode, "--max-ms", &DEADLINE.as_millis().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("the service starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut service = Service {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("the service did not say where it listens: {e}"));
            if let Some(addr) = line.strip_prefix("listening on ") {
                service.addr = addr.parse().expect("an address");
                assert!(service.addr.ip().is_loopback(), "{line}");
                return service;
            }
        }
    }

    /// `GET path`: the body of a `200 OK` answer.
    fn get(&self, path: &str) -> Vec<u8> {
        let mut stream =
            TcpStream::connect_timeout(&self.addr, Duration::from_secs(10)).expect("it accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("an answer");
        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header in {:?}", String::from_utf8_lossy(&answer)));
        let head = String::from_utf8_lossy(&answer[..end]);
        let body = answer[end + 4..].to_vec();
        assert!(
            head.starts_with("HTTP/1.1 200 "),
            "GET {path}: {head}\n{}",
            String::from_utf8_lossy(&body)
        );
        body
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // The group the service leads (`process_group(0)`).
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// Runs the service with `mode`, serves it requests and takes `PROFILES`
/// heap profiles, `INTERVAL` and `REQUESTS` requests apart, into
/// `heap-N.pb.gz` of a fresh directory; returns the directory and the
/// files in order.
fn profiles(mode: &str) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(mode);
    let deadline = Instant::now() + DEADLINE;
    let work = |service: &Service| {
        for _ in 0..REQUESTS {
            assert!(Instant::now() < deadline, "the series took too long");
            let body = service.get("/work");
            assert!(body.starts_with(b"served request "), "{body:?}");
        }
    };
    work(&service);
    let mut files = Vec::new();
    let start = Instant::now();
    for n in 1..=PROFILES {
        work(&service);
        let tick = start + INTERVAL * n as u32;
        if let Some(wait) = tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let profile = service.get("/debug/pprof/heap");
        // pprof's profile.proto, gzip'd.
        assert!(profile.starts_with(&[0x1f, 0x8b]), "not gzip: {profile:?}");
        let file = dir.path().join(format!("heap-{n}.pb.gz"));
        std::fs::write(&file, profile).unwrap();
        files.push(file);
    }
    drop(service);
    (dir, files)
}

/// `cargo leakcheck diff FILES --json DIR/report.json`: the run and its
/// JSON report.
fn diff(dir: &tempfile::TempDir, files: &[PathBuf]) -> (Run, serde_json::Value) {
    let json = dir.path().join("report.json");
    let run: Run = clean_command(cargo_leakcheck_bin(), &fixture(FIXTURE))
        .args(["leakcheck", "diff"])
        .args(files)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("cargo-leakcheck runs")
        .into();
    let report = std::fs::read_to_string(&json)
        .map(|text| serde_json::from_str(&text).expect("a JSON report"))
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", run.stderr));
    (run, report)
}

#[test]
fn a_leaking_jemalloc_service_is_named_at_its_function_and_line() {
    let _serial = serial();
    let (dir, files) = profiles("--leak");
    let (run, report) = diff(&dir, &files);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let line = line_of(FIXTURE, "src/main.rs", "leaks: one record per request");
    let site = format!("src/main.rs:{line}");
    let leak_row = run
        .stderr
        .lines()
        .find(|l| l.contains("LEAK") && l.contains(&site))
        .unwrap_or_else(|| panic!("no leak row at {site}:\n{}", run.stderr));
    assert!(
        run.stderr.contains("jemalloc_service::remember_request"),
        "{leak_row}\n{}",
        run.stderr
    );

    let test = &report["tests"][0];
    assert_eq!(test["verdict"], "leak", "{report:#}");
    let sites = test["sites"].as_array().expect("sites");
    let leak = sites
        .iter()
        .find(|s| s["verdict"] == "leak" && s["line"] == line)
        .unwrap_or_else(|| panic!("no leak at {site}: {report:#}"));
    assert!(
        leak["file"].as_str().unwrap().ends_with("src/main.rs"),
        "{leak:#}"
    );
    assert_eq!(leak["function"], "jemalloc_service::remember_request");
    // 1 KiB a request, `REQUESTS` requests an interval: the profile's
    // estimate, from about one sampled record in 1.6, is near it.
    let intervals = (PROFILES - 1) as i64;
    let leaked = leak["size_diff"].as_i64().unwrap();
    let expected = 1024 * REQUESTS as i64 * intervals;
    assert!(
        leaked > expected / 2 && leaked < expected * 2,
        "{leaked} bytes, about {expected} expected: {leak:#}"
    );
    // Nothing the symbolizer keeps, nor jemalloc's own frames, is a leak.
    for s in sites.iter().filter(|s| s["verdict"] == "leak") {
        assert!(
            s["function"]
                .as_str()
                .unwrap()
                .starts_with("jemalloc_service::"),
            "{s:#}"
        );
    }
}

#[test]
fn a_bounded_jemalloc_service_passes() {
    let _serial = serial();
    let (dir, files) = profiles("--bounded");
    let (run, report) = diff(&dir, &files);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("LEAK"), "{}", run.stderr);
    assert_eq!(report["tests"][0]["verdict"], "clean", "{report:#}");
}
