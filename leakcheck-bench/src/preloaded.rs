//! `cargo leakcheck run` as three more variants: the unchanged
//! `bench-system` binary started with leakcheck's preloaded library
//! (`leakcheck-preload`, built as `cargo leakcheck run` builds it), its
//! stacks taken by walking frame pointers (`unwind=0`) or with the DWARF
//! unwinder (`unwind=1`), and, as `cargo leakcheck run --sample` runs a
//! program, sampled at the default rate (`sample=524288:1024`), frame
//! pointers walked.
//!
//! ```text
//!  sh (pid P) ──export LD_PRELOAD=libleakcheck_preload.so
//!               export LEAKCHECK_RUN=pid=P,interval_ms=3600000,native=0,unwind=U[,sample=M:N]
//!               exec ──► bench-system, pid P: tracked
//!  LEAKCHECK_RUN_DIR=<scratch dir> ──► created by the library when it tracks; no dump within the hour
//! ```
//!
//! The library tracks only the process whose id `LEAKCHECK_RUN` names;
//! `cargo leakcheck run` passes its own and `exec`s the program, and the
//! shell here does the same. It creates the dump directory only once it
//! has matched the id and started tracing, so a directory that did not
//! exist before the run and does after it shows that the run was tracked.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use leakcheck_format::protocol::run::{self, RunSettings};

/// The dump interval: longer than any run, so that no snapshot is written
/// while the workload runs.
pub const DUMP_INTERVAL: Duration = Duration::from_secs(3600);

/// What the library prints when it gives up tracking after matching the
/// process (the dump directory could not be set up).
const NOT_TRACKING: &str = "leakcheck: not tracking this program";

/// The shell's part: the settings (given without the pid) get the shell's
/// own process id, which the program keeps across `exec`; the library is
/// preloaded into the program only, not into the shell.
const EXEC_AS_SELF: &str = r#"settings=$1 library=$2; shift 2
export LD_PRELOAD="$library" LEAKCHECK_RUN="pid=$$,$settings"
exec "$@""#;

/// The sampling of [`crate::child::Variant::RunSampled`]: `sample=MEAN:MIN`
/// at [`leakcheck_rt::SampleRate::default`] (one sample per 512 KiB, at
/// least one in 1,024 allocations).
pub fn default_sample() -> (u64, u64) {
    let rate = leakcheck_rt::SampleRate::default();
    (rate.mean_bytes(), rate.min_one_in())
}

/// The value of `LEAKCHECK_RUN` after its `pid=…,`, as
/// [`RunSettings::to_value`] writes it: a dump an hour, only Rust's
/// blocks in snapshots (`native=0`), the unwinder if `unwind`, and
/// sampled at `sample` (`MEAN`, `MIN`) if given, else exact.
pub fn settings_after_pid(unwind: bool, sample: Option<(u64, u64)>) -> String {
    let settings = RunSettings {
        pid: 0,
        interval: DUMP_INTERVAL,
        native: false,
        unwind,
        children: false,
        sample,
        dump_signal: None,
    };
    let value = settings.to_value();
    value
        .strip_prefix("pid=0,")
        .expect("RunSettings::to_value writes the pid first")
        .to_owned()
}

/// The dump directory of one run: a path under the system's temporary
/// directory that the library is to create; removed with everything in it
/// before the run and when dropped.
#[derive(Debug)]
pub struct DumpDir(PathBuf);

impl DumpDir {
    /// A fresh path: nothing is left there from an earlier run.
    pub fn fresh() -> std::io::Result<DumpDir> {
        let dir = std::env::temp_dir().join(format!("leakcheck-bench-run-{}", std::process::id()));
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(DumpDir(dir))
    }

    /// The command that runs `bin` with `library` preloaded and tracking,
    /// its stacks taken with the unwinder if `unwind`, sampled at `sample`
    /// if given (the caller adds `bin`'s arguments).
    pub fn command(
        &self,
        library: &Path,
        bin: &Path,
        unwind: bool,
        sample: Option<(u64, u64)>,
    ) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(EXEC_AS_SELF)
            .arg("sh")
            .arg(settings_after_pid(unwind, sample))
            .arg(library)
            .arg(bin)
            .env(run::DIR, &self.0)
            .env_remove(run::RUN)
            .env_remove("LD_PRELOAD");
        command
    }

    /// Whether the run that `stderr` is from was tracked: the library
    /// created the directory and did not give up.
    pub fn tracked(&self, stderr: &str) -> bool {
        self.0.is_dir() && !stderr.contains(NOT_TRACKING)
    }
}

impl Drop for DumpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_completes_settings_the_library_reads() {
        for unwind in [false, true] {
            for sample in [None, Some(default_sample())] {
                let value = format!("pid=4242,{}", settings_after_pid(unwind, sample));
                assert_eq!(
                    RunSettings::parse(&value),
                    Some(RunSettings {
                        pid: 4242,
                        interval: DUMP_INTERVAL,
                        native: false,
                        unwind,
                        children: false,
                        sample,
                        dump_signal: None,
                    })
                );
            }
        }
    }

    #[test]
    fn the_sampled_run_passes_what_run_sample_passes_by_default() {
        assert_eq!(default_sample(), (524_288, 1024));
        assert!(
            settings_after_pid(false, Some(default_sample())).ends_with(",sample=524288:1024"),
            "{}",
            settings_after_pid(false, Some(default_sample()))
        );
        assert!(!settings_after_pid(false, None).contains("sample="));
    }

    #[test]
    fn the_program_gets_the_shells_pid_and_the_library() {
        for (unwind, sample) in [(true, None), (false, Some(default_sample()))] {
            let dir = DumpDir::fresh().unwrap();
            let script = r#"printf '%s %s %s\n' "$$" "$LD_PRELOAD" "$LEAKCHECK_RUN""#;
            let output = dir
                .command(Path::new("/no/such.so"), Path::new("sh"), unwind, sample)
                .args(["-c", script])
                // The library does not exist: ld.so says so and goes on.
                .output()
                .unwrap();
            assert!(output.status.success());
            let stdout = String::from_utf8(output.stdout).unwrap();
            let [pid, library, settings] = stdout.split_whitespace().collect::<Vec<_>>()[..] else {
                panic!("{stdout:?}");
            };
            assert_eq!(library, "/no/such.so");
            assert_eq!(
                settings,
                format!("pid={pid},{}", settings_after_pid(unwind, sample)),
                "the inner sh is the outer one, exec'd"
            );
            assert!(!dir.tracked(""), "no library, no directory");
        }
    }
}
