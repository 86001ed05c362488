//! One of leakcheck's own crates built by `cargo build
//! --message-format=json` (the injected runtime, the preloaded library),
//! and the file it built, read from cargo's messages.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cargo_metadata::Message;

/// Runs `command` (a `cargo build --message-format=json`; its stderr is
/// left as the caller set it) and returns the last file with `extension`
/// that cargo says the target `target` built; the error in a few words.
pub fn build(command: &mut Command, target: &str, extension: &str) -> Result<PathBuf, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let built = Message::parse_stream(BufReader::new(stdout))
        .filter_map(Result::ok)
        .filter_map(|m| match m {
            Message::CompilerArtifact(a) if a.target.name == target => Some(a),
            _ => None,
        })
        .flat_map(|a| a.filenames)
        .filter(|f| f.extension() == Some(extension))
        // Read to the end: cargo fails on a closed pipe.
        .last();
    let status = child.wait().map_err(|e| format!("cargo: {e}"))?;
    match (status.success(), built) {
        (true, Some(file)) => Ok(file.into_std_path_buf()),
        (true, None) => Err(format!("cargo built no {extension} of {target}")),
        (false, _) => Err(format!("`cargo build` {status}")),
    }
}
