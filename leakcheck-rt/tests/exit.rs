//! Thread teardown and process exit.
//!
//! - Threads whose Rust thread-local destructors free the thread's blocks
//!   and allocate new ones, and whose pthread-key destructors (which run
//!   after the tracker released the thread's counter table) do the same:
//!   every line counts exactly after the threads are gone.
//! - Child processes (this binary run again with `LEAKCHECK_EXIT_MODE`)
//!   whose other threads allocate hard while `main` returns, calls
//!   `process::exit`, panics or aborts, and one that runs as a
//!   `cargo leakcheck` session and exits: each ends with the expected
//!   status within a deadline; where exit handlers run, the main thread's
//!   thread-local destructor and an `atexit` handler free blocks after
//!   `main` and a snapshot there counts them exactly; the session record
//!   is written and valid.
//!
//! Default: 8 threads × 20 rounds; each child mode once.
//! `LEAKCHECK_STRESS=full`: 16 threads × 100 rounds; each mode 10 times.

use std::cell::RefCell;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use leakcheck_rt::session::SessionRecord;
use libtest_mimic::{Arguments, Trial};

mod common;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/exit.rs";
const SRC: &str = include_str!("exit.rs");
const MODE_VAR: &str = "LEAKCHECK_EXIT_MODE";

fn line(name: &str) -> u32 {
    common::marked_line(SRC, &format!("// SITE {name}"))
}

// --- thread-local destructors ---------------------------------------------

/// Blocks the destructors allocated, as (address, size).
static STASH: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
/// The test's pthread key (created after the tracker's, so its destructor
/// runs after the tracker released the thread's table), plus one.
static KEY: AtomicUsize = AtomicUsize::new(0);

#[inline(never)]
fn tls_block(n: usize) -> Vec<u8> {
    vec![3u8; n] // SITE tls_block
}

#[inline(never)]
fn tls_dtor_block(n: usize) -> Vec<u8> {
    vec![4u8; n] // SITE tls_dtor
}

// A pthread-key value is one thin pointer: a boxed `Vec`.
#[allow(clippy::box_collection)]
#[inline(never)]
fn key_block(n: usize) -> Box<Vec<u8>> {
    Box::new(vec![5u8; n]) // SITE key_block
}

#[inline(never)]
fn key_dtor_block(n: usize) -> Vec<u8> {
    vec![6u8; n] // SITE key_dtor
}

fn stash(v: Vec<u8>) {
    let v = std::mem::ManuallyDrop::new(v);
    STASH
        .lock()
        .unwrap()
        .push((v.as_ptr() as usize, v.capacity()));
}

/// Frees what the thread held and leaves a new block behind.
struct Holder(Vec<Vec<u8>>);

impl Drop for Holder {
    fn drop(&mut self) {
        let n = self.0.len();
        self.0.clear();
        stash(tls_dtor_block(100 + n));
    }
}

thread_local! {
    static HELD: RefCell<Holder> = const { RefCell::new(Holder(Vec::new())) };
}

extern "C" fn key_dtor(value: *mut libc::c_void) {
    // SAFETY: the value is a `Box<Vec<u8>>` leaked by `teardown_thread`.
    let held = unsafe { Box::from_raw(value.cast::<Vec<u8>>()) };
    stash(key_dtor_block(200 + held.len()));
    drop(held);
}

fn teardown_thread(i: usize) {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        for k in 0..=(i % 5) {
            h.0.push(tls_block(16 + k));
        }
    });
    let key = (KEY.load(Acquire) - 1) as libc::pthread_key_t;
    let value = Box::into_raw(key_block(32 + i % 7));
    // SAFETY: a key created by this test; its destructor frees the value.
    unsafe { libc::pthread_setspecific(key, value.cast()) };
}

fn thread_local_destructors_allocate_and_free() {
    let threads = common::scale(8, 16);
    let rounds = common::scale(20, 100);
    leakcheck_rt::start(25);
    // The tracker's key exists once a thread counted a block; ours after.
    drop(std::hint::black_box(Box::new(1u8)));
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: creates a key with a destructor that only allocates and frees.
    let created = unsafe { libc::pthread_key_create(&mut key, Some(key_dtor)) };
    assert_eq!(created, 0);
    KEY.store(key as usize + 1, Release);

    let lines = ["tls_block", "tls_dtor", "key_block", "key_dtor"].map(line);
    for round in 0..rounds {
        // Joined one by one: `thread::scope` alone returns before the
        // threads' thread-local destructors have run.
        let handles: Vec<_> = (0..threads)
            .map(|t| std::thread::spawn(move || teardown_thread(round * threads + t)))
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let snap = leakcheck_rt::take_snapshot();
        let got = lines.map(|l| common::at_line(&snap, FILE, l));
        let stash = STASH.lock().unwrap();
        let sum = |base: usize| {
            stash
                .iter()
                .filter(|&&(_, n)| (base..base + 100).contains(&n))
                .fold((0, 0), |(s, c), &(_, n)| (s + n as u64, c + 1))
        };
        assert_eq!(
            got[0],
            (0, 0),
            "round {round}: blocks freed by thread-local destructors"
        );
        assert_eq!(
            got[1],
            sum(100),
            "round {round}: blocks allocated by thread-local destructors"
        );
        assert_eq!(
            got[2],
            (0, 0),
            "round {round}: blocks freed by pthread-key destructors"
        );
        assert_eq!(
            got[3],
            sum(200),
            "round {round}: blocks allocated by pthread-key destructors"
        );
    }
    for (p, n) in std::mem::take(&mut *STASH.lock().unwrap()) {
        // SAFETY: rebuilds a `Vec<u8>` leaked by `stash`, of that capacity.
        drop(unsafe { Vec::from_raw_parts(p as *mut u8, 0, n) });
    }
    let snap = leakcheck_rt::take_snapshot();
    for l in lines {
        assert_eq!(common::at_line(&snap, FILE, l), (0, 0));
    }
    // SAFETY: no thread uses the key any more.
    unsafe { libc::pthread_key_delete(key) };
    leakcheck_rt::stop();
    eprintln!(
        "exit: {} threads torn down, each freeing and allocating in both kinds of destructor",
        rounds * threads
    );
}

// --- exit paths, in a child process ---------------------------------------

/// Blocks an `atexit` handler frees after `main`.
static AT_EXIT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
static KEPT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
static CHILD_OPS: AtomicU64 = AtomicU64::new(0);
static MAIN_DTOR_RAN: AtomicBool = AtomicBool::new(false);
const KEPT_BLOCKS: usize = 10;

#[inline(never)]
fn exit_block(n: usize) -> Vec<u8> {
    vec![7u8; n] // SITE at_exit
}

#[inline(never)]
fn main_tls_block(n: usize) -> Vec<u8> {
    vec![8u8; n] // SITE main_tls
}

#[inline(never)]
fn kept_block(n: usize) -> Vec<u8> {
    vec![9u8; n] // SITE kept
}

#[inline(never)]
fn busy_block(n: usize) -> Vec<u8> {
    vec![1u8; n] // SITE busy
}

struct MainHolder(Vec<Vec<u8>>);

impl Drop for MainHolder {
    fn drop(&mut self) {
        self.0.clear();
        MAIN_DTOR_RAN.store(true, Relaxed);
    }
}

thread_local! {
    static MAIN_HELD: RefCell<MainHolder> = const { RefCell::new(MainHolder(Vec::new())) };
}

/// After `main` (and the main thread's thread-local destructors): free the
/// blocks, and check the counts with a snapshot while other threads still
/// allocate.
extern "C" fn free_after_main() {
    AT_EXIT.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let snap = leakcheck_rt::take_snapshot();
    let got = ["at_exit", "main_tls", "kept"].map(|l| common::at_line(&snap, FILE, line(l)));
    let kept = (
        (0..KEPT_BLOCKS).map(|i| 64 + i as u64).sum::<u64>(),
        KEPT_BLOCKS as u64,
    );
    let dtor = MAIN_DTOR_RAN.load(Relaxed);
    if got == [(0, 0), (0, 0), kept] && dtor {
        eprintln!("atexit ok: counts exact after main");
    } else {
        eprintln!(
            "atexit MISMATCH: {got:?}, kept {kept:?}, main thread-local destructor ran: {dtor}"
        );
        // SAFETY: ends the process at once with a distinctive status.
        unsafe { libc::_exit(90) };
    }
}

fn child_main(mode: &str) {
    if mode != "session" {
        leakcheck_rt::start(25);
    }
    assert!(leakcheck_rt::is_tracing());
    AT_EXIT
        .lock()
        .unwrap()
        .extend((0..20).map(|i| exit_block(100 + i)));
    KEPT.lock()
        .unwrap()
        .extend((0..KEPT_BLOCKS).map(|i| kept_block(64 + i)));
    MAIN_HELD.with(|h| {
        h.borrow_mut()
            .0
            .extend((0..5).map(|i| main_tls_block(50 + i)))
    });
    if mode != "session" {
        // SAFETY: registers a plain function.
        assert_eq!(unsafe { libc::atexit(free_after_main) }, 0);
    }
    for t in 0..2u64 {
        std::thread::spawn(move || {
            let mut own: Vec<Vec<u8>> = Vec::with_capacity(64);
            let mut rng = common::Rng::new(t + 1);
            for i in 0u64.. {
                if own.len() < 64 && rng.chance(55) {
                    own.push(busy_block(1 + rng.below(2048) as usize));
                } else if !own.is_empty() {
                    own.swap_remove(rng.below(own.len() as u64) as usize);
                }
                CHILD_OPS.fetch_add(1, Relaxed);
                // Allocate all along, but leave the exiting thread (which
                // symbolises a snapshot in a debug build) some CPU.
                if i % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        });
    }
    while CHILD_OPS.load(Relaxed) < 20_000 {
        std::thread::yield_now();
    }
    match mode {
        "return" => {}
        "exit" => std::process::exit(7),
        "session" => std::process::exit(0),
        "panic" => panic!("planned panic in main while threads allocate"),
        "abort" => std::process::abort(),
        other => panic!("unknown {MODE_VAR} {other:?}"),
    }
}

struct Expect {
    mode: &'static str,
    code: Option<i32>,
    signal: Option<i32>,
    at_exit: bool,
}

fn run_child(e: &Expect, session: &std::path::Path) -> Result<(), String> {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(MODE_VAR, e.mode)
        .env_remove("LEAKCHECK_SESSION")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if e.mode == "session" {
        cmd.env("LEAKCHECK_SESSION", session);
    }
    let mut child = cmd.spawn().map_err(|err| err.to_string())?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|err| err.to_string())? {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{}: hung for 30 s", e.mode));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    use std::os::unix::process::ExitStatusExt;
    if status.code() != e.code || status.signal() != e.signal {
        return Err(format!(
            "{}: ended with {status:?}, stderr:\n{stderr}",
            e.mode
        ));
    }
    if e.at_exit && !stderr.contains("atexit ok") {
        return Err(format!(
            "{}: no check after main, stderr:\n{stderr}",
            e.mode
        ));
    }
    if e.mode == "session" {
        let record = SessionRecord::load(session).map_err(|err| format!("session: {err}"))?;
        let kept = common::at_line(&record.live.to_snapshot(), FILE, line("kept"));
        if kept.1 != KEPT_BLOCKS as u64 {
            return Err(format!("session: kept blocks {kept:?} in the record"));
        }
    }
    Ok(())
}

fn exit_paths_in_child_processes() {
    let repeat = common::scale(1, 10);
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("session.json");
    let expectations = [
        Expect {
            mode: "return",
            code: Some(0),
            signal: None,
            at_exit: true,
        },
        Expect {
            mode: "exit",
            code: Some(7),
            signal: None,
            at_exit: true,
        },
        Expect {
            mode: "panic",
            code: Some(101),
            signal: None,
            at_exit: true,
        },
        Expect {
            mode: "abort",
            code: None,
            signal: Some(libc::SIGABRT),
            at_exit: false,
        },
        Expect {
            mode: "session",
            code: Some(0),
            signal: None,
            at_exit: false,
        },
    ];
    let mut failures = Vec::new();
    for _ in 0..repeat {
        for e in &expectations {
            let _ = std::fs::remove_file(&session);
            if let Err(err) = run_child(e, &session) {
                failures.push(err);
            }
        }
    }
    eprintln!(
        "exit: {} children (return, exit, panic, abort and session, {repeat} each), {} failed",
        expectations.len() * repeat,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn main() {
    if let Ok(mode) = std::env::var(MODE_VAR) {
        return child_main(&mode);
    }
    common::watchdog(120, "exit");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests = vec![
        Trial::test("thread_local_destructors_allocate_and_free", || {
            thread_local_destructors_allocate_and_free();
            Ok(())
        }),
        Trial::test("exit_paths_in_child_processes", || {
            exit_paths_in_child_processes();
            Ok(())
        }),
    ];
    libtest_mimic::run(&args, tests).exit();
}
