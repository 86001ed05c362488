//! The file a test binary writes at exit when it runs as a session under
//! `cargo leakcheck`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::file_format::{self, FileError, FileKind, SESSION_TAG};
use crate::json;
use crate::snapshot::{FileSnapshot, TraceTable};

pub use crate::file_format::SESSION_VERSION;

/// What one session (a test binary running all its tests one at a time)
/// left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The `#[leak_test]`s the session ran, in run order; `cargo leakcheck`
    /// measures each again in a process of its own.
    pub leak_tests: Vec<String>,
    /// Exact per-test growth, from leakcheck's `harness = false` harness,
    /// in run order; empty under libtest, where tests are told apart by
    /// their frames in [`SessionRecord::live`].
    pub per_test: Vec<TestDelta>,
    /// Every block still live at exit that was allocated after the session
    /// began, as the record holds it: a session can leave 100,000 call
    /// stacks live.
    pub live: TraceTable,
}

/// What one test left live, measured by snapshots around it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestDelta {
    /// The test's name.
    pub test: String,
    /// Blocks allocated during the test and still live after it.
    pub retained: TraceTable,
}

#[derive(Serialize, Deserialize)]
struct FileRecord {
    format: String,
    version: u32,
    leak_tests: Vec<String>,
    per_test: Vec<FileDelta>,
    live: FileSnapshot,
}

#[derive(Serialize, Deserialize)]
struct FileDelta {
    test: String,
    retained: FileSnapshot,
}

/// The JSON of a record whose live blocks are already in their file form
/// (what the session writes at exit, without a snapshot of them).
pub fn record_json(leak_tests: &[String], per_test: &[TestDelta], live: FileSnapshot) -> String {
    let file = FileRecord {
        format: SESSION_TAG.into(),
        version: SESSION_VERSION,
        leak_tests: leak_tests.to_vec(),
        per_test: per_test
            .iter()
            .map(|d| FileDelta {
                test: d.test.clone(),
                retained: d.retained.to_file(),
            })
            .collect(),
        live,
    };
    json::to_string(&file).expect("a session record always serialises")
}

impl SessionRecord {
    /// The record as versioned JSON.
    pub fn to_json(&self) -> String {
        record_json(&self.leak_tests, &self.per_test, self.live.to_file())
    }

    /// Parses a record; `origin` names the input in errors.
    pub fn from_json_bytes(data: &[u8], origin: &str) -> Result<Self, FileError> {
        let file: FileRecord = file_format::parse(FileKind::SessionRecord, data, origin)?;
        let snap =
            |file: FileSnapshot| TraceTable::from_file(file, FileKind::SessionRecord, origin);
        Ok(SessionRecord {
            leak_tests: file.leak_tests,
            per_test: file
                .per_test
                .into_iter()
                .map(|d| {
                    Ok(TestDelta {
                        test: d.test,
                        retained: snap(d.retained)?,
                    })
                })
                .collect::<Result<_, FileError>>()?,
            live: snap(file.live)?,
        })
    }

    /// Reads a record from a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, FileError> {
        file_format::load(
            FileKind::SessionRecord,
            path.as_ref(),
            Self::from_json_bytes,
        )
    }
}
