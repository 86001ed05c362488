//! `cargo leakcheck run`: checks the program, builds the library to
//! preload, and `exec`s the program in this process with it preloaded. The
//! program keeps this process's id (which the library is told, so that
//! the processes the program starts are not tracked), its signals and its
//! exit status.
//!
//! ```text
//!  locate PROGRAM (PATH) ──► read it: static? own allocator? stripped? ──► one-line error, exit 2
//!                              frame pointers? (its functions' prologues) ──► walk them, else unwind
//!      ──► build leakcheck-preload (once) ──► exec PROGRAM with LD_PRELOAD, LEAKCHECK_RUN, LEAKCHECK_RUN_DIR
//! ```

use std::os::unix::process::CommandExt;
use std::process::Command;

use leakcheck_format::protocol::env::WORKSPACE_ROOT;
use leakcheck_format::protocol::run::{self, RunSettings};

use super::program;
use crate::cargo::preload;
use crate::cli::LaunchOpts;
use crate::errors::Error;
use crate::render::neutralise;

/// The floor of sampled tracking: at least one sample in this many
/// allocations (`SampleRate::default`'s).
const SAMPLE_MIN_ONE_IN: u64 = 1024;

/// Runs `cargo leakcheck run`: returns only if the program could not be
/// started.
pub fn execute(opts: &LaunchOpts) -> Result<i32, Error> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return Err(Error::RunUnsupported);
    }
    let shown = neutralise::terminal(&opts.program.to_string_lossy());
    let refused = |reason: String| Error::Program {
        program: shown.clone(),
        reason,
    };
    let path_var = std::env::var_os("PATH");
    let path = program::locate(&opts.program, path_var.as_deref()).ok_or_else(|| {
        refused("was not found (no such file, or no such program in PATH)".into())
    })?;
    let checked = program::check(&path, opts.native).map_err(refused)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let library = preload::library(&cargo, opts.quiet)?;
    let cwd =
        std::env::current_dir().map_err(|e| refused(format!("has no working directory: {e}")))?;
    let dir = cwd.join(&opts.dump_dir);
    let settings = RunSettings {
        pid: std::process::id(),
        interval: opts.dump_every,
        native: opts.native,
        unwind: checked.frame_pointers != Some(true),
        children: opts.children,
        sample: opts.sample.map(|bytes| (bytes, SAMPLE_MIN_ONE_IN)),
        dump_signal: opts.dump_signal,
    };
    if !opts.quiet {
        let dir_shown = neutralise::terminal(&dir.display().to_string());
        let sampled = match opts.sample {
            Some(bytes) => format!(
                " (sampled: 1 per {}, sizes and counts estimated)",
                crate::render::units::bytes(bytes as i64)
            ),
            None => String::new(),
        };
        let on_signal = match opts.dump_signal {
            Some(signal) => format!(" and on signal {signal}"),
            None => String::new(),
        };
        eprintln!(
            "{:>12} {shown} with leakcheck{sampled}: a snapshot every {}{on_signal} into \
             {dir_shown}; judge them with `cargo leakcheck diff {dir_shown}`",
            "Running",
            humanised(opts.dump_every),
        );
        let why = match checked.frame_pointers {
            Some(true) => None,
            Some(false) => Some(format!("{shown} keeps no frame pointers")),
            None => Some(format!(
                "whether {shown} keeps frame pointers cannot be read from its file"
            )),
        };
        if let Some(why) = why {
            eprintln!(
                "{:>12} {why}: every allocation's stack is taken with the DWARF unwinder, \
                 many times slower; build it with frame pointers (`-C \
                 force-frame-pointers=yes`, `-fno-omit-frame-pointer`) to have them walked",
                "Note"
            );
        }
    }
    let error = Command::new(&path)
        .arg0(&opts.program)
        .args(&opts.args)
        .env(
            "LD_PRELOAD",
            program::preload_value(&library, std::env::var_os("LD_PRELOAD").as_deref()),
        )
        .env(run::RUN, settings.to_value())
        .env(run::DIR, &dir)
        // Sites are named relative to where the command was started, even
        // if the program changes its directory before the first dump.
        .env(
            WORKSPACE_ROOT,
            std::env::var_os(WORKSPACE_ROOT).unwrap_or_else(|| cwd.clone().into()),
        )
        .exec();
    Err(refused(format!("could not be started: {error}")))
}

/// `500ms`, `60s`, `2m`: an interval as the command line takes it.
fn humanised(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::humanised;

    #[test]
    fn intervals_read_as_written() {
        assert_eq!(humanised(Duration::from_millis(250)), "250ms");
        assert_eq!(humanised(Duration::from_secs(90)), "90s");
        assert_eq!(humanised(Duration::from_secs(120)), "2m");
    }
}
