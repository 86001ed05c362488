//! Bad input for every file loader: snapshots, session records, reports and
//! per-test reports that are empty, cut short at every byte, bit-flipped, of
//! another type or of a newer version. Each must give the right error, and
//! never panic; a bit flip that happens to leave a valid file must load as
//! something that writes and reads back unchanged.

#[path = "loaders/samples.rs"]
mod samples;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use leakcheck_rt::report::{Report, TestReport};
use leakcheck_rt::session::SessionRecord;
use leakcheck_rt::{FileError, Snapshot};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Io,
    Empty,
    Corrupt,
    OtherType,
    Newer,
}

type Outcome<T> = Result<T, (Fault, String)>;

/// One file format and its loader.
trait Format: Sized + PartialEq + Debug {
    const NAME: &'static str;
    fn sample() -> Self;
    fn json(&self) -> String;
    fn parse(data: &[u8]) -> Outcome<Self>;
    fn load(path: &Path) -> Outcome<Self>;
}

fn fault(e: FileError) -> (Fault, String) {
    let fault = match &e {
        FileError::Io { .. } => Fault::Io,
        FileError::Empty { .. } => Fault::Empty,
        FileError::Corrupt { .. } => Fault::Corrupt,
        FileError::WrongFormat { .. } => Fault::OtherType,
        FileError::Version { .. } => Fault::Newer,
    };
    (fault, e.to_string())
}

impl Format for Snapshot {
    const NAME: &'static str = "snapshot";
    fn sample() -> Self {
        samples::snapshot()
    }
    fn json(&self) -> String {
        self.to_json()
    }
    fn parse(data: &[u8]) -> Outcome<Self> {
        Snapshot::from_json_bytes(data, "data").map_err(fault)
    }
    fn load(path: &Path) -> Outcome<Self> {
        Snapshot::load(path).map_err(fault)
    }
}

impl Format for SessionRecord {
    const NAME: &'static str = "session record";
    fn sample() -> Self {
        samples::session_record()
    }
    fn json(&self) -> String {
        self.to_json()
    }
    fn parse(data: &[u8]) -> Outcome<Self> {
        SessionRecord::from_json_bytes(data, "data").map_err(fault)
    }
    fn load(path: &Path) -> Outcome<Self> {
        SessionRecord::load(path).map_err(fault)
    }
}

impl Format for Report {
    const NAME: &'static str = "report";
    fn sample() -> Self {
        samples::report()
    }
    fn json(&self) -> String {
        self.to_json()
    }
    fn parse(data: &[u8]) -> Outcome<Self> {
        Report::from_json_bytes(data, "data").map_err(fault)
    }
    fn load(path: &Path) -> Outcome<Self> {
        Report::load(path).map_err(fault)
    }
}

impl Format for TestReport {
    const NAME: &'static str = "per-test report";
    fn sample() -> Self {
        samples::test_report()
    }
    fn json(&self) -> String {
        self.to_json()
    }
    fn parse(data: &[u8]) -> Outcome<Self> {
        TestReport::from_json_bytes(data, "data").map_err(fault)
    }
    fn load(path: &Path) -> Outcome<Self> {
        TestReport::load(path).map_err(fault)
    }
}

/// Parses `data`, turning a panic into a test failure that shows the input.
fn parse<F: Format>(data: &[u8], what: &str) -> Outcome<F> {
    catch_unwind(AssertUnwindSafe(|| F::parse(data))).unwrap_or_else(|_| {
        panic!(
            "the {} loader panicked on {what}: {:?}",
            F::NAME,
            String::from_utf8_lossy(data)
        )
    })
}

/// Checks that a successfully loaded value writes and reads back unchanged.
fn assert_round_trips<F: Format>(value: &F, what: &str) {
    let again = parse::<F>(value.json().as_bytes(), what);
    assert_eq!(again.as_ref(), Ok(value), "{} {what}", F::NAME);
}

fn expect_fault<F: Format>(data: &[u8], want: Fault, what: &str) -> String {
    match parse::<F>(data, what) {
        Err((fault, msg)) if fault == want => {
            assert!(!msg.contains('\n'), "{msg:?} spans lines");
            msg
        }
        other => panic!("{} {what}: expected {want:?}, got {other:?}", F::NAME),
    }
}

fn sample_json<F: Format>() -> Vec<u8> {
    let json = F::sample().json().into_bytes();
    assert_eq!(parse::<F>(&json, "the sample"), Ok(F::sample()));
    json
}

// ---- every truncation -------------------------------------------------

fn every_truncation<F: Format>() {
    let json = sample_json::<F>();
    let content = json.trim_ascii_end().len();
    for end in 0..json.len() {
        let what = format!("the first {end} of {} bytes", json.len());
        let head = &json[..end];
        if end >= content {
            assert_eq!(parse::<F>(head, &what), Ok(F::sample()), "{what}");
        } else if head.trim_ascii().is_empty() {
            expect_fault::<F>(head, Fault::Empty, &what);
        } else {
            expect_fault::<F>(head, Fault::Corrupt, &what);
        }
    }
}

#[test]
fn snapshot_every_truncation() {
    every_truncation::<Snapshot>();
}

#[test]
fn session_record_every_truncation() {
    every_truncation::<SessionRecord>();
}

#[test]
fn report_every_truncation() {
    every_truncation::<Report>();
}

#[test]
fn test_report_every_truncation() {
    every_truncation::<TestReport>();
}

// ---- bit flips --------------------------------------------------------

/// Byte ranges of `"key": value` in `json`, from the key's opening quote to
/// the end of the value (a string or an integer).
fn key_value_spans(json: &[u8], key: &str) -> Vec<std::ops::Range<usize>> {
    let needle = format!("\"{key}\":");
    let mut spans = Vec::new();
    for (i, _) in json
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle.as_bytes())
    {
        let mut start = i + needle.len();
        while json[start] == b' ' {
            start += 1;
        }
        let end = if json[start] == b'"' {
            start + 1 + json[start + 1..].iter().position(|&b| b == b'"').unwrap() + 1
        } else {
            start
                + json[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count()
        };
        spans.push(i..end);
    }
    spans
}

/// The flips to try on a file of `len` bytes, as (byte, bit): every bit of
/// every byte when that fits in `max` flips, else every k-th (byte, bit)
/// pair for the smallest odd k that fits, so that the flipped bit cycles
/// through all eight along the file.
fn flips(len: usize, max: usize) -> impl Iterator<Item = (usize, u8)> {
    let mut k = (len * 8).div_ceil(max).max(1);
    if k > 1 && k.is_multiple_of(2) {
        k += 1;
    }
    (0..len * 8).step_by(k).map(|p| (p / 8, (p % 8) as u8))
}

/// Flips bits all over the sample, one at a time, `max` flips at most: a
/// debug-build load of a session record and its round trip take a few
/// milliseconds, and the whole binary must stay fast.
fn bit_flips<F: Format>(max: usize) {
    let json = sample_json::<F>();
    // A flip in a version can make it newer; one in a format tag, or its
    // key, makes the file another type (or no leakcheck file at all).
    let versions = key_value_spans(&json, "version");
    let formats = key_value_spans(&json, "format");
    assert!(!versions.is_empty());
    let within = |spans: &[std::ops::Range<usize>], i| spans.iter().any(|s| s.contains(&i));
    let (mut ok, mut tried) = (0, 0);
    for (i, bit) in flips(json.len(), max) {
        let mut data = json.clone();
        data[i] ^= 1 << bit;
        let what = format!("bit {bit} of byte {i} flipped");
        tried += 1;
        match parse::<F>(&data, &what) {
            Ok(value) => {
                ok += 1;
                assert_round_trips(&value, &what);
            }
            Err((Fault::Corrupt, _)) => {}
            Err((Fault::Newer, msg)) => assert!(within(&versions, i), "{what}: {msg}"),
            Err((Fault::OtherType, msg)) => assert!(within(&formats, i), "{what}: {msg}"),
            Err(other) => panic!("{} {what}: {other:?}", F::NAME),
        }
    }
    // Flips inside strings and numbers leave valid files: the round trip
    // above was exercised.
    assert!(ok > 0 && ok < tried, "{ok} of {tried} flips loaded");
}

#[test]
fn snapshot_bit_flips() {
    bit_flips::<Snapshot>(2500);
}

#[test]
fn session_record_bit_flips() {
    bit_flips::<SessionRecord>(600);
}

#[test]
fn report_bit_flips() {
    bit_flips::<Report>(2500);
}

#[test]
fn test_report_bit_flips() {
    bit_flips::<TestReport>(2500);
}

// ---- whole-file cases ---------------------------------------------------

/// Inputs that are not this format at all: every one must be `want`.
fn whole_file_cases<F: Format>() {
    let json = sample_json::<F>();
    let json_str = String::from_utf8(json.clone()).unwrap();

    expect_fault::<F>(b"", Fault::Empty, "an empty file");
    expect_fault::<F>(b" \n\t\r\n  ", Fault::Empty, "whitespace");

    for other in [
        "[]",
        "[1, 2]",
        "42",
        "-1.5",
        "\"a string\"",
        "null",
        "true",
        "{}",
        "{\"format\": 7}",
        "{\"format\": \"leakcheck-unknown\", \"version\": 1}",
    ] {
        expect_fault::<F>(other.as_bytes(), Fault::OtherType, other);
    }
    for (name, file) in [
        ("snapshot", samples::snapshot().to_json()),
        ("session record", samples::session_record().to_json()),
        ("report", samples::report().to_json()),
        ("per-test report", samples::test_report().to_json()),
    ] {
        if name != F::NAME {
            expect_fault::<F>(file.as_bytes(), Fault::OtherType, &format!("a {name}"));
        }
    }

    for (from, to, want) in [
        ("1", "2", Fault::Newer),
        ("1", "4294967296", Fault::Newer),
        ("1", "0", Fault::Corrupt),
        ("1", "-1", Fault::Corrupt),
        ("1", "1.5", Fault::Corrupt),
        ("1", "\"1\"", Fault::Corrupt),
        ("1", "null", Fault::Corrupt),
    ] {
        let span = key_value_spans(&json, "version")[0].clone();
        let mut data = json.clone();
        let value = data[span.clone()].to_vec();
        let at = span.end - from.len();
        assert!(value.ends_with(from.as_bytes()), "{value:?}");
        data.splice(at..span.end, to.bytes());
        expect_fault::<F>(&data, want, &format!("version {to}"));
    }

    // Not UTF-8: a Latin-1 byte inside a string, a UTF-16 file, a BOM.
    let inside = json_str.find("src/").or(json_str.find("leak")).unwrap();
    let mut latin1 = json.clone();
    latin1[inside] = 0xE9;
    expect_fault::<F>(&latin1, Fault::Corrupt, "a Latin-1 byte");
    let utf16: Vec<u8> = json_str.encode_utf16().flat_map(u16::to_le_bytes).collect();
    expect_fault::<F>(
        &[&[0xFF, 0xFE][..], &utf16].concat(),
        Fault::Corrupt,
        "UTF-16",
    );
    expect_fault::<F>(
        &[&[0xEF, 0xBB, 0xBF][..], &json].concat(),
        Fault::Corrupt,
        "a BOM",
    );
    expect_fault::<F>(&[0u8; 64], Fault::Corrupt, "NUL bytes");
    expect_fault::<F>(&[0xFF; 64], Fault::Corrupt, "0xFF bytes");

    // Two documents, trailing garbage, a document nested past serde's limit.
    let twice = [&json[..], &json[..]].concat();
    expect_fault::<F>(&twice, Fault::Corrupt, "two documents");
    expect_fault::<F>(
        &[&json[..], b"x"].concat(),
        Fault::Corrupt,
        "trailing garbage",
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    expect_fault::<F>(deep.as_bytes(), Fault::Corrupt, "100000 nested arrays");
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    expect_fault::<F>(deep_obj.as_bytes(), Fault::Corrupt, "100000 nested objects");

    // Numbers out of range for their fields.
    let line = key_value_spans(&json, "line")[0].clone();
    let value_start = line.end
        - json[..line.end]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
    for (number, what) in [
        ("1e999", "1e999"),
        ("-10", "a negative line"),
        ("4294967296", "a line past u32"),
    ] {
        let mut data = json.clone();
        data.splice(value_start..line.end, number.bytes());
        expect_fault::<F>(&data, Fault::Corrupt, what);
    }
}

#[test]
fn snapshot_whole_file_cases() {
    whole_file_cases::<Snapshot>();
}

#[test]
fn session_record_whole_file_cases() {
    whole_file_cases::<SessionRecord>();
}

#[test]
fn report_whole_file_cases() {
    whole_file_cases::<Report>();
}

#[test]
fn test_report_whole_file_cases() {
    whole_file_cases::<TestReport>();
}

// ---- files on disk ------------------------------------------------------

fn files_on_disk<F: Format>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.json");
    std::fs::write(&path, F::sample().json()).unwrap();
    assert_eq!(F::load(&path), Ok(F::sample()));

    let missing = dir.path().join("missing.json");
    let (fault, msg) = F::load(&missing).unwrap_err();
    assert_eq!(fault, Fault::Io, "{msg}");
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("No such file or directory"), "{msg}");

    let (fault, msg) = F::load(dir.path()).unwrap_err();
    assert_eq!(fault, Fault::Io, "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");

    std::fs::write(&path, "").unwrap();
    let (fault, msg) = F::load(&path).unwrap_err();
    assert_eq!(fault, Fault::Empty, "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn snapshot_files_on_disk() {
    files_on_disk::<Snapshot>();
}

#[test]
fn session_record_files_on_disk() {
    files_on_disk::<SessionRecord>();
}

#[test]
fn report_files_on_disk() {
    files_on_disk::<Report>();
}

#[test]
fn test_report_files_on_disk() {
    files_on_disk::<TestReport>();
}

// ---- exact messages -----------------------------------------------------

fn message<F: Format>(data: &str) -> String {
    parse::<F>(data.as_bytes(), data).unwrap_err().1
}

#[test]
fn report_messages() {
    assert_eq!(message::<Report>(""), "report data is empty");
    assert_eq!(
        message::<Report>("[]"),
        "data is not a leakcheck report: it is an array"
    );
    assert_eq!(
        message::<Report>(&samples::snapshot().to_json()),
        "data is not a leakcheck report: it is a leakcheck snapshot"
    );
    assert_eq!(
        message::<Report>(&samples::test_report().to_json()),
        "data is not a leakcheck report: it is a leakcheck per-test report"
    );
    assert_eq!(
        message::<TestReport>(&samples::report().to_json()),
        "data is not a leakcheck per-test report: it is a leakcheck report"
    );
    assert_eq!(
        message::<Report>("{\"version\": 2, \"tests\": \"changed\"}"),
        "report data has format version 2, newer than this leakcheck reads (1); upgrade leakcheck"
    );
    assert_eq!(
        message::<Report>("{\"version\": 1,\n \"tests\": ["),
        "report data is corrupt or truncated: EOF while parsing a list at line 2 column 11"
    );
    assert_eq!(
        message::<Report>(
            "{\"version\": 1, \"tests\": [], \"session\": {\"verdict\": \"grown\", \"sites\": []}}"
        ),
        "report data is corrupt or truncated: unknown variant `grown`, expected `growth` or `clean` at line 1 column 58"
    );
    assert_eq!(
        message::<Report>(
            "{\"version\": 0, \"tests\": [], \"session\": {\"verdict\": \"clean\", \"sites\": []}}"
        ),
        "report data is corrupt or truncated: format version 0 is not valid"
    );
}

#[test]
fn snapshot_messages() {
    assert_eq!(message::<Snapshot>(""), "snapshot data is empty");
    assert_eq!(
        message::<Snapshot>("[]"),
        "data is not a leakcheck snapshot: it is an array"
    );
    assert_eq!(
        message::<Snapshot>("{\"format\":\"leakcheck-snapshot\",\"version\":2}"),
        "snapshot data has format version 2, newer than this leakcheck reads (1); upgrade leakcheck"
    );
    assert_eq!(
        message::<SessionRecord>(&samples::snapshot().to_json()),
        "data is not a leakcheck session record: it is a leakcheck snapshot"
    );
    assert_eq!(
        message::<SessionRecord>("{\"format\":\"leakcheck-session\",\"version\":2}"),
        "session record data has format version 2, newer than this leakcheck reads (1); upgrade leakcheck"
    );
    assert_eq!(
        message::<SessionRecord>("{\"format\":\"leakcheck-session\",\"version\":1,"),
        "session record data is corrupt or truncated: EOF while parsing a value at line 1 column 42"
    );
}

// ---- fuzz regressions ---------------------------------------------------

/// Runs `data` through every loader: no panic, one-line errors, and a round
/// trip for whatever loads.
fn every_loader(data: &[u8], what: &str) {
    fn one<F: Format>(data: &[u8], what: &str) {
        match parse::<F>(data, what) {
            Ok(value) => assert_round_trips(&value, what),
            Err((_, msg)) => assert!(!msg.contains('\n'), "{} {what}: {msg:?}", F::NAME),
        }
    }
    one::<Snapshot>(data, what);
    one::<SessionRecord>(data, what);
    one::<Report>(data, what);
    one::<TestReport>(data, what);
}

/// Inputs the fuzz targets failed on, kept in `tests/loaders/regressions/`.
#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loaders/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        every_loader(&std::fs::read(&path).unwrap(), &path.display().to_string());
        seen += 1;
    }
    assert!(seen > 0, "no regression inputs in {}", dir.display());
}

/// An unknown variant with an escaped newline: serde quotes the name as it
/// is, which used to break the message over two lines.
#[test]
fn newline_in_an_unknown_variant_stays_escaped() {
    let snapshot = Snapshot::sample()
        .json()
        .replacen("\"kind\":\"std\"", "\"kind\":\"\\nstd\"", 1);
    let report =
        Report::sample()
            .json()
            .replacen("\"verdict\": \"leak\"", "\"verdict\": \"\\nleak\"", 1);
    for data in [&snapshot, &report] {
        assert!(data.contains("\\n"), "{data}");
        every_loader(data.as_bytes(), data);
    }
    let msg = message::<Snapshot>(&snapshot);
    assert!(msg.contains("unknown variant `\\nstd`"), "{msg}");
    let msg = message::<Report>(&report);
    assert!(msg.contains("unknown variant `\\nleak`"), "{msg}");
}

/// A rate with more digits than an f64 holds, as the fuzzer wrote it, must
/// read as the value that then writes and reads back unchanged; so must
/// rates spread over the whole range of f64.
#[test]
fn rates_round_trip_exactly() {
    let mut report = TestReport::sample();
    let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        // A xorshift walk over f64 bit patterns, finite ones only.
        bits ^= bits << 13;
        bits ^= bits >> 7;
        bits ^= bits << 17;
        let rate = f64::from_bits(bits);
        if !rate.is_finite() {
            continue;
        }
        report.sites[0].bytes_per_iter = rate;
        let back = parse::<TestReport>(report.json().as_bytes(), "a rate").unwrap();
        assert_eq!(
            back.sites[0].bytes_per_iter.to_bits(),
            rate.to_bits(),
            "{rate:e}"
        );
    }
}
