//! `cargo leakcheck run -- PROGRAM`: what the command tells the library it
//! preloads into the program, in one variable, `LEAKCHECK_RUN`, and the
//! snapshot directory in another (a path may hold any byte).
//!
//! ```text
//!  cargo leakcheck (pid P) ──LD_PRELOAD=libleakcheck_preload.so
//!                            LEAKCHECK_RUN=pid=P,interval_ms=60000,native=0,unwind=1,children=0
//!                            LEAKCHECK_RUN_DIR=<dir>
//!                            exec ──► PROGRAM, pid P: tracked (and what it `exec`s in turn)
//!                                       ├──► fork: the child goes on tracking (as `dump_every`'s)
//!                                       └──► fork + exec: pid is not P: untracked, unless
//!                                            children=1: tracked into <dir>/pid-<its pid>/
//! ```

use std::time::Duration;

/// The settings, `key=value` pairs joined by commas.
pub const RUN: &str = "LEAKCHECK_RUN";
/// The directory the snapshots are written into.
pub const DIR: &str = "LEAKCHECK_RUN_DIR";

/// What a preloaded program is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// The program's process id (`cargo leakcheck` `exec`s it): a
    /// program the preloaded library starts in under another id (a child
    /// the program starts) is not tracked.
    pub pid: u32,
    /// How often a snapshot is written.
    pub interval: Duration,
    /// Whether blocks that C and C++ code allocate are counted too; else
    /// only those of Rust's global allocator.
    pub native: bool,
    /// Whether stacks are taken with the DWARF unwinder (the program has no
    /// frame pointers).
    pub unwind: bool,
    /// Whether the processes the program starts (and theirs) are tracked
    /// too, each into a directory of its own under the program's.
    pub children: bool,
    /// Sampled tracking, `(mean_bytes, min_one_in)`; `None`: exact
    /// (`sample=MEAN:MIN`, left out when exact).
    pub sample: Option<(u64, u64)>,
    /// The signal that asks for a snapshot on demand (`dump_signal=N`, left
    /// out when none).
    pub dump_signal: Option<i32>,
}

impl RunSettings {
    /// The value of [`RUN`].
    pub fn to_value(&self) -> String {
        format!(
            "pid={},interval_ms={},native={},unwind={},children={}",
            self.pid,
            self.interval.as_millis(),
            u8::from(self.native),
            u8::from(self.unwind),
            u8::from(self.children)
        ) + &self
            .sample
            .map(|(mean, min)| format!(",sample={mean}:{min}"))
            .unwrap_or_default()
            + &self
                .dump_signal
                .map(|signal| format!(",dump_signal={signal}"))
                .unwrap_or_default()
    }

    /// Reads a value of [`RUN`]; `None` if any setting is missing or
    /// malformed.
    pub fn parse(value: &str) -> Option<RunSettings> {
        let mut pid = None;
        let mut interval = None;
        let mut native = None;
        let mut unwind = None;
        let mut children = None;
        let mut sample = None;
        let mut dump_signal = None;
        for pair in value.split(',') {
            let (key, value) = pair.split_once('=')?;
            let flag = || match value {
                "0" => Some(false),
                "1" => Some(true),
                _ => None,
            };
            match key {
                "pid" => pid = Some(value.parse().ok()?),
                "interval_ms" => {
                    interval =
                        Some(Duration::from_millis(value.parse().ok()?)).filter(|d| !d.is_zero());
                }
                "native" => native = Some(flag()?),
                "unwind" => unwind = Some(flag()?),
                "children" => children = Some(flag()?),
                "sample" => {
                    let (mean, min) = value.split_once(':')?;
                    let (mean, min) = (mean.parse().ok()?, min.parse().ok()?);
                    if mean == 0 || min == 0 {
                        return None;
                    }
                    sample = Some((mean, min));
                }
                "dump_signal" => dump_signal = Some(value.parse().ok().filter(|&s: &i32| s > 0)?),
                _ => return None,
            }
        }
        Some(RunSettings {
            pid: pid?,
            interval: interval?,
            native: native?,
            unwind: unwind?,
            children: children?,
            sample,
            dump_signal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_as_written() {
        let settings = RunSettings {
            pid: 4242,
            interval: Duration::from_millis(1500),
            native: true,
            unwind: false,
            children: true,
            sample: None,
            dump_signal: None,
        };
        assert_eq!(
            settings.to_value(),
            "pid=4242,interval_ms=1500,native=1,unwind=0,children=1"
        );
        assert_eq!(
            RunSettings::parse(&settings.to_value()),
            Some(settings.clone())
        );
        let sampled = RunSettings {
            sample: Some((65536, 1024)),
            dump_signal: Some(12),
            ..settings
        };
        assert_eq!(
            sampled.to_value(),
            "pid=4242,interval_ms=1500,native=1,unwind=0,children=1,sample=65536:1024,dump_signal=12"
        );
        assert_eq!(RunSettings::parse(&sampled.to_value()), Some(sampled));
    }

    #[test]
    fn malformed_settings_are_none() {
        for bad in [
            "",
            "pid=1,interval_ms=10,native=0",
            "pid=x,interval_ms=10,native=0,unwind=0,children=0",
            "pid=1,interval_ms=0,native=0,unwind=0,children=0",
            "pid=1,interval_ms=10,native=2,unwind=0,children=0",
            "pid=1,interval_ms=10,native=0,unwind=0,children=0,extra=1",
            "pid=1,interval_ms=10,native=0,unwind=0",
            "pid=1,interval_ms=10,native=0,unwind=0,children=0,sample=0:1",
            "pid=1,interval_ms=10,native=0,unwind=0,children=0,sample=64",
            "pid=1,interval_ms=10,native=0,unwind=0,children=0,dump_signal=-3",
        ] {
            assert_eq!(RunSettings::parse(bad), None, "{bad:?}");
        }
    }
}
