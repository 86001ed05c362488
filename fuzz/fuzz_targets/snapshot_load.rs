//! `Snapshot::from_json_bytes` never panics, its errors are one line, and
//! whatever it accepts writes and reads back unchanged.

#![no_main]

use leakcheck_rt::{FileError, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Snapshot::from_json_bytes(data, "data") {
        Ok(snap) => {
            let again = Snapshot::from_json_bytes(snap.to_json().as_bytes(), "data")
                .expect("a written snapshot loads");
            assert_eq!(again, snap);
        }
        Err(err) => {
            assert!(!matches!(err, FileError::Io { .. }), "{err}");
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg:?}");
        }
    }
});
