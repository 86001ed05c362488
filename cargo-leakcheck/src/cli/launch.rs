//! `cargo leakcheck run`: the command line of starting a program with
//! tracking on.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Start a program, unchanged, with leakcheck tracking its memory
#[derive(Debug, Parser)]
#[command(
    name = "run",
    bin_name = "cargo leakcheck run",
    display_name = "cargo-leakcheck",
    version
)]
#[command(long_about = LONG_ABOUT, after_long_help = AFTER_LONG_HELP)]
pub struct LaunchOpts {
    /// Also track what C and C++ code allocates with `malloc` (by default
    /// only Rust's global allocator is reported)
    #[arg(long)]
    pub native: bool,
    /// How often a snapshot is written (`90`, `90s`, `500ms`, `2m`, `1h`)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = interval)]
    pub dump_every: Duration,
    /// The directory the snapshots are written into
    #[arg(long, value_name = "DIR", default_value = "leakcheck-snapshots")]
    pub dump_dir: PathBuf,
    /// Sample allocations instead of tracking each: one per BYTES allocated
    /// on average (default 512KiB; `64KiB`, `1MiB`, `4096`), and at least
    /// one in 1024 allocations. Sizes and counts become estimates
    #[arg(
        long,
        value_name = "BYTES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "512KiB",
        value_parser = sample_bytes
    )]
    pub sample: Option<u64>,
    /// Also write a snapshot each time the program gets this signal
    /// (`USR1`, `SIGUSR2`, `12`)
    #[arg(long, value_name = "SIGNAL", value_parser = signal)]
    pub dump_signal: Option<i32>,
    /// Also track the processes the program starts (and theirs), each into
    /// `DIR/pid-<its pid>/`
    #[arg(long)]
    pub children: bool,
    /// Print nothing before the program starts
    #[arg(short, long)]
    pub quiet: bool,
    /// The program (a path, or a name looked up in PATH)
    #[arg(value_name = "PROGRAM", required = true)]
    pub program: OsString,
    /// The program's arguments
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<OsString>,
}

const LONG_ABOUT: &str = "\
Start a program, unchanged, with leakcheck tracking its memory.

The program runs in place of this command (same process id, signals and \
exit status), with leakcheck's library preloaded (LD_PRELOAD; Linux with \
glibc, a dynamically linked program). It writes a numbered snapshot into \
the directory every interval, for `cargo leakcheck diff DIR` to judge. \
Processes the program starts are not tracked, unless --children asks.";

/// A time limit's form (`90`, `90s`, `2m`, `1h`), or milliseconds
/// (`500ms`); not zero.
const AFTER_LONG_HELP: &str = "\
Examples:
  cargo leakcheck run -- ./target/release/my-service --port 8080
  cargo leakcheck run --dump-every 10s --dump-dir /tmp/dumps -- my-service
  cargo leakcheck run --native -- ./target/release/uses-sqlite
  cargo leakcheck run --sample --dump-signal USR2 -- ./target/release/my-service
      (then `kill -USR2 <pid>` writes a snapshot)
  cargo leakcheck diff leakcheck-snapshots    judge the series (exit 1 on a leak)

Errors before the program starts exit with 2 (a program that is missing,
statically linked, or has an allocator of its own; a bad flag) or 3 (the
preloaded library did not build); after that the exit status is the
program's own.";

fn interval(s: &str) -> Result<Duration, String> {
    let parsed = match s.strip_suffix("ms") {
        Some(ms) => ms
            .parse()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|_| format!("expected milliseconds before `ms`; got `{s}`"))?,
        None => crate::config::parse_duration(s)?,
    };
    parsed
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is no interval: snapshots need one above zero"))
}

/// A sampling period: bytes, or `KiB`/`MiB`/`GiB`; above zero.
fn sample_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" | "K" | "k" => 10,
        "MiB" | "M" => 20,
        "GiB" | "G" => 30,
        _ => {
            return Err(format!(
                "expected bytes such as `512KiB`, `1MiB` or `4096`; got `{s}`"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("expected bytes above zero, such as `512KiB`; got `{s}`"))
}

/// A signal by name (`USR2`, `SIGUSR2`) or number; one a program may
/// catch and leakcheck does not use itself.
fn signal(s: &str) -> Result<i32, String> {
    let name = s.trim().trim_start_matches("SIG");
    let number = match name {
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "HUP" => libc::SIGHUP,
        "WINCH" => libc::SIGWINCH,
        "URG" => libc::SIGURG,
        n => n.parse().map_err(|_| {
            format!("expected a signal such as `USR1`, `USR2` or a number; got `{s}`")
        })?,
    };
    let refused = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGPWR,
    ];
    if number <= 0 || number > 64 || refused.contains(&number) {
        return Err(format!(
            "signal `{s}` cannot ask for a snapshot (it cannot be caught, or leakcheck uses it)"
        ));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(interval("90"), Ok(Duration::from_secs(90)));
        assert_eq!(interval("2m"), Ok(Duration::from_secs(120)));
        assert!(interval("0").is_err());
        assert!(interval("0ms").is_err());
        assert!(interval("fast").is_err());
        assert!(interval("xms").is_err());
    }

    #[test]
    fn sampling_periods_and_signals() {
        assert_eq!(sample_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(sample_bytes("4096"), Ok(4096));
        assert_eq!(sample_bytes("1MiB"), Ok(1 << 20));
        assert!(sample_bytes("0").is_err());
        assert!(sample_bytes("lots").is_err());
        assert!(sample_bytes("99999999999GiB").is_err());
        assert_eq!(signal("USR2"), Ok(libc::SIGUSR2));
        assert_eq!(signal("SIGUSR1"), Ok(libc::SIGUSR1));
        assert_eq!(signal("12"), Ok(12));
        assert!(signal("KILL").is_err());
        assert!(signal("9").is_err());
        assert!(signal("PWR").is_err());
        assert!(signal("soon").is_err());
    }
}
