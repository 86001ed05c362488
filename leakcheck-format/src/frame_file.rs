//! The frames a test process named at the addresses of one object file,
//! kept for the next process of the same binary (leakcheck-rt's frame
//! cache, in the directory [`FRAME_CACHE`](crate::protocol::env::FRAME_CACHE)
//! names).

use serde::{Deserialize, Serialize};

use crate::traceback::Frame;

/// One object file's frames, by address relative to where it was loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameFile {
    /// The object file, for a reader of the directory.
    pub object: String,
    /// The frames at each address, innermost (inlined) first, by address.
    pub frames: Vec<(u64, Vec<Frame>)>,
}

impl FrameFile {
    /// The file's JSON.
    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    /// A file read back; `None` for anything that is not one whole file
    /// (cut short, or not JSON of this shape).
    pub fn from_json(bytes: &[u8]) -> Option<FrameFile> {
        crate::json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traceback::FrameKind;

    #[test]
    fn a_file_reads_back_and_a_cut_one_does_not() {
        let file = FrameFile {
            object: "/t/debug/deps/suite-0123".into(),
            frames: vec![(
                0x1234,
                vec![Frame {
                    file: "src/lib.rs".into(),
                    line: 7,
                    function: "crate::f".into(),
                    kind: FrameKind::Workspace,
                }],
            )],
        };
        let json = file.to_json();
        assert_eq!(FrameFile::from_json(json.as_bytes()), Some(file));
        assert_eq!(
            FrameFile::from_json(&json.as_bytes()[..json.len() - 3]),
            None
        );
        assert_eq!(FrameFile::from_json(b"[]"), None);
    }
}
