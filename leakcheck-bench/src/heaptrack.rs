//! heaptrack (Debian's `heaptrack` package) as one more variant: the
//! `bench-system` binary run under `heaptrack -o DIR/data`. heaptrack
//! preloads its library into the child, which records every allocation
//! with its stack and hands the record to heaptrack's interpreter, another
//! process, that compresses it into the data file. Each run writes into a
//! directory of its own, removed after the run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The launcher's name on `PATH`.
const LAUNCHER: &str = "heaptrack";

/// The heaptrack launcher, if `heaptrack --version` runs here.
pub fn find() -> Option<PathBuf> {
    let runs = Command::new(LAUNCHER)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    runs.then(|| PathBuf::from(LAUNCHER))
}

/// The directory one run's data file is written into; removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// Creates the directory, under the system's temporary directory.
    pub fn create() -> std::io::Result<DataDir> {
        let dir =
            std::env::temp_dir().join(format!("leakcheck-bench-heaptrack-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(DataDir(dir))
    }

    /// The command that runs `bin` under `heaptrack`, its data file in
    /// this directory (the caller adds `bin`'s arguments).
    pub fn command(&self, heaptrack: &Path, bin: &Path) -> Command {
        let mut command = Command::new(heaptrack);
        command.arg("-o").arg(self.0.join("data")).arg(bin);
        command
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
