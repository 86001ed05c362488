//! `SessionRecord::from_json_bytes` never panics, its errors are one line,
//! and whatever it accepts writes and reads back unchanged.

#![no_main]

use leakcheck_rt::FileError;
use leakcheck_rt::session::SessionRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match SessionRecord::from_json_bytes(data, "data") {
        Ok(record) => {
            let again = SessionRecord::from_json_bytes(record.to_json().as_bytes(), "data")
                .expect("a written session record loads");
            assert_eq!(again, record);
        }
        Err(err) => {
            assert!(!matches!(err, FileError::Io { .. }), "{err}");
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg:?}");
        }
    }
});
