//! A small request loop that leaks, watched the way a running service is:
//! `dump_every` writes a snapshot every interval, and `cargo leakcheck diff`
//! judges the series afterwards.
//!
//! ```sh
//! cargo run -p leakcheck-rt --example service -- --dir /tmp/service-dumps
//! cargo run -p cargo-leakcheck -- leakcheck diff /tmp/service-dumps/*.json
//! ```
//!
//! Options: `--dir DIR` (default `leakcheck-snapshots`), `--interval-ms N`
//! (default 200), `--run-ms N` (default 3000), `--dumps N` (stop once N
//! snapshots are written, however long that takes), `--bounded`, which
//! replaces the leak by a cache that fills up and then stays, and
//! `--pprof PATH`, which at the end writes one last snapshot as a pprof heap
//! profile to PATH (for `go tool pprof`) and as a leakcheck snapshot to
//! `PATH.json`.

use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

leakcheck_rt::install!();

/// Entries the bounded cache keeps.
const CACHE_ENTRIES: usize = 200;
/// Requests served before the first snapshot, as a service warms up before
/// it is watched: they fill the bounded cache.
const WARMUP_REQUESTS: u64 = 500;

/// A service that remembers something about every request.
struct Service {
    bounded: bool,
    /// Every session ever seen: nothing evicts it (the leak).
    sessions: HashMap<u64, Vec<u8>>,
    /// The most recent responses, at most `CACHE_ENTRIES`.
    recent: VecDeque<Vec<u8>>,
}

impl Service {
    fn handle_request(&mut self, id: u64) -> usize {
        let response = black_box(format!("response to request {id}")).into_bytes();
        if self.bounded {
            if self.recent.len() == CACHE_ENTRIES {
                self.recent.pop_front();
            }
            self.recent.push_back(response.clone());
        } else {
            self.sessions.insert(id, vec![0u8; 512]); // leaks: one entry per request
        }
        response.len()
    }
}

struct Args {
    dir: PathBuf,
    interval: Duration,
    run: Duration,
    dumps: Option<u64>,
    bounded: bool,
    pprof: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: PathBuf::from("leakcheck-snapshots"),
        interval: Duration::from_millis(200),
        run: Duration::from_millis(3000),
        dumps: None,
        bounded: false,
        pprof: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        let millis = |v: String| {
            v.parse()
                .map(Duration::from_millis)
                .map_err(|_| format!("expected milliseconds, got `{v}`"))
        };
        match arg.as_str() {
            "--dir" => args.dir = value("--dir")?.into(),
            "--interval-ms" => args.interval = millis(value("--interval-ms")?)?,
            "--run-ms" => args.run = millis(value("--run-ms")?)?,
            "--dumps" => {
                let v = value("--dumps")?;
                args.dumps = Some(
                    v.parse()
                        .map_err(|_| format!("expected a count, got `{v}`"))?,
                );
            }
            "--bounded" => args.bounded = true,
            "--pprof" => args.pprof = Some(value("--pprof")?.into()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let mut service = Service {
        bounded: args.bounded,
        sessions: HashMap::new(),
        recent: VecDeque::new(),
    };
    // Trace from the start, so that what the warm-up allocates and the
    // service frees later is counted out again.
    leakcheck_rt::start(leakcheck_rt::DUMP_NFRAME);
    let mut id = 0;
    let mut served = 0;
    while id < WARMUP_REQUESTS {
        served += service.handle_request(id);
        id += 1;
    }
    let dumps = leakcheck_rt::dump_every(args.interval, &args.dir)?;
    let start = Instant::now();
    let done = |written| match args.dumps {
        Some(n) => written >= n,
        None => start.elapsed() >= args.run,
    };
    while !done(dumps.written()) {
        served += service.handle_request(id);
        id += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    let written = dumps.stop()?;
    if let Some(path) = &args.pprof {
        // One snapshot, written both ways: the same numbers.
        let last = leakcheck_rt::take_snapshot();
        last.dump_pprof(path)?;
        let mut json = path.clone().into_os_string();
        json.push(".json");
        last.dump(json)?;
    }
    eprintln!(
        "served {id} requests ({served} bytes); wrote {written} snapshots to {}",
        args.dir.display()
    );
    Ok(())
}
