//! `Report::from_json_bytes` and `TestReport::from_json_bytes` never panic,
//! give the error that fits the input, in one line, and whatever they
//! accept writes and reads back unchanged.

#![no_main]

use leakcheck_rt::FileError;
use leakcheck_rt::report::{Report, TestReport};
use libfuzzer_sys::fuzz_target;

fn check_error(data: &[u8], err: &FileError) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "{msg:?}");
    let blank = data.iter().all(u8::is_ascii_whitespace);
    match err {
        FileError::Io { .. } => panic!("I/O error without I/O: {msg}"),
        FileError::Empty { .. } => assert!(blank, "{msg}"),
        // Only valid JSON can be of another type or version.
        FileError::WrongFormat { .. } | FileError::Version { .. } => {
            assert!(
                serde_json::from_slice::<serde_json::Value>(data).is_ok(),
                "{msg}"
            )
        }
        FileError::Corrupt { .. } => assert!(!blank, "{msg}"),
    }
}

fuzz_target!(|data: &[u8]| {
    match Report::from_json_bytes(data, "data") {
        Ok(report) => {
            let again = Report::from_json_bytes(report.to_json().as_bytes(), "data")
                .expect("a written report loads");
            assert_eq!(again, report);
        }
        Err(err) => check_error(data, &err),
    }
    match TestReport::from_json_bytes(data, "data") {
        Ok(report) => {
            let again = TestReport::from_json_bytes(report.to_json().as_bytes(), "data")
                .expect("a written per-test report loads");
            assert_eq!(again, report);
        }
        Err(err) => check_error(data, &err),
    }
});
