//! The constructor: runs in every process that loads the library (the
//! program, and each program its children `exec`, which inherit
//! `LD_PRELOAD`), before their `main`. The program tracks itself into the
//! directory; another process stands aside, or, with `children=1`, tracks
//! itself into `pid-<its pid>/` there.

use std::path::PathBuf;
use std::sync::Mutex;

use leakcheck_format::protocol::run::{self, RunSettings};
use leakcheck_rt::DumpGuard;

/// The dumping, stopped at exit.
static DUMPS: Mutex<Option<DumpGuard>> = Mutex::new(None);

// SAFETY: `.init_array` holds pointers to functions that take nothing and
// return nothing, which ld.so calls once when it loads the library; `start`
// is one, never unwinds (it catches panics) and needs nothing that is not
// set up before a library's constructors run.
#[used]
#[unsafe(link_section = ".init_array")]
static START: extern "C" fn() = start;

extern "C" fn start() {
    let started = std::panic::catch_unwind(|| {
        let settings = std::env::var(run::RUN)
            .ok()
            .and_then(|v| RunSettings::parse(&v));
        let dir = std::env::var_os(run::DIR).map(PathBuf::from);
        let pid = std::process::id();
        match (settings, dir) {
            (Some(settings), Some(dir)) if settings.pid == pid => track(&settings, dir),
            // A process the program started, asked for: a series of its own.
            // Its frame pointers are unknown: it is unwound.
            (Some(settings), Some(dir)) if settings.children => {
                let settings = RunSettings {
                    unwind: true,
                    ..settings
                };
                track(&settings, dir.join(format!("pid-{pid}")));
            }
            _ => leakcheck_engine::stand_aside(),
        }
    });
    if started.is_err() {
        leakcheck_engine::stand_aside();
    }
}

/// Tracks this process: snapshots into `dir` every interval until exit.
fn track(settings: &RunSettings, dir: PathBuf) {
    leakcheck_engine::install_preloaded(settings.unwind);
    if !settings.native {
        leakcheck_rt::__private::only_rust_allocations();
    }
    if let Some((mean_bytes, min_one_in)) = settings.sample {
        leakcheck_rt::start_sampled(
            leakcheck_rt::DUMP_NFRAME,
            leakcheck_rt::SampleRate::new(mean_bytes, min_one_in),
        );
    }
    match leakcheck_rt::dump_every(settings.interval, &dir) {
        Ok(guard) => {
            if let Some(signal) = settings.dump_signal
                && let Err(e) = guard.dump_on_signal(signal)
            {
                eprintln!("leakcheck: no snapshots on demand: {e}");
            }
            // Tracing is the dumps': `dump_every` started it, with
            // `DUMP_NFRAME` frames, and stops it with the guard.
            *DUMPS.lock().unwrap_or_else(|e| e.into_inner()) = Some(guard);
            leakcheck_engine::at_exit(stop_dumps);
        }
        Err(e) => {
            eprintln!(
                "leakcheck: not tracking this program: cannot write snapshots into {}: {e}",
                dir.display()
            );
            leakcheck_engine::stand_aside();
        }
    }
}

/// At exit: a dump in progress is finished, the dumping thread ends.
extern "C" fn stop_dumps() {
    let guard = DUMPS.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(guard) = guard
        && let Err(e) = guard.stop()
    {
        eprintln!("leakcheck: a snapshot dump failed: {e}");
    }
}
