//! What is kept of a test process's output: all of it when it is small;
//! of a large one, its beginning, its end, and between them the lines that
//! libtest's results or a panic could be on. A test whose subprocess
//! writes a gigabyte costs `cargo leakcheck` a few megabytes.
//!
//! ```text
//!  output ──> head (first HEAD bytes) ─┬─> kept middle lines (≤ KEPT bytes) ─> tail (last TAIL bytes)
//!                                      └─> the rest: counted, not kept
//! ```
//!
//! Bytes leave the tail for the middle, whole lines at a time, once newer
//! ones fill it; a line stays when it may matter to a reader of libtest's
//! output ([`may_matter`]), until the middle's budget is spent. One line
//! is added where bytes were left out, before the tail.

/// The beginning kept whole.
const HEAD: usize = 1 << 20;
/// The end kept whole.
const TAIL: usize = 1 << 20;
/// What the lines kept between them may take.
const KEPT: usize = 8 << 20;
/// A longer line in the middle is not kept.
const LINE: usize = 64 << 10;

/// A process's output, as it comes, in bounded memory.
#[derive(Debug, Default)]
pub struct Capture {
    head: Vec<u8>,
    /// The head is complete: what comes now goes to the tail.
    head_full: bool,
    kept: Vec<u8>,
    /// The end of the output so far; past 2 × TAIL, cut back to about
    /// TAIL at a line's start.
    tail: Vec<u8>,
    /// The last line that went to the middle said a panic's message
    /// follows (on its next line, since Rust 1.73).
    panic_follows: bool,
    /// Bytes left out.
    dropped: u64,
}

impl Capture {
    /// Takes the next bytes of the output.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if !self.head_full {
            let room = HEAD - self.head.len();
            if bytes.len() <= room {
                self.head.extend_from_slice(bytes);
                return;
            }
            // The head ends with a whole line, when one ends in it.
            let cut = newline_from_end(&bytes[..room]).map_or(room, |i| i + 1);
            self.head.extend_from_slice(&bytes[..cut]);
            bytes = &bytes[cut..];
            self.head_full = true;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * TAIL {
            self.cut_tail();
        }
    }

    /// Moves the tail's oldest bytes to the middle, up to a line's start
    /// (a line longer than TAIL is cut where it must be).
    fn cut_tail(&mut self) {
        let excess = self.tail.len() - TAIL;
        let cut = newline(&self.tail[excess..]).map_or(excess, |i| excess + i + 1);
        let tail = std::mem::take(&mut self.tail);
        self.pass_middle(&tail[..cut]);
        self.tail = tail;
        self.tail.drain(..cut);
    }

    fn pass_middle(&mut self, bytes: &[u8]) {
        let mut start = 0;
        while start < bytes.len() {
            let end = newline(&bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
            let line = &bytes[start..end];
            start = end;
            // Most lines of a flood are none of libtest's: told apart by
            // a byte or two (this runs on every line of the output).
            if !self.panic_follows && !may_start_one(line) {
                self.dropped += line.len() as u64;
                continue;
            }
            let panic_message = std::mem::replace(&mut self.panic_follows, false);
            let keep = (panic_message || may_matter(line))
                && line.len() <= LINE
                && self.kept.len() + line.len() <= KEPT;
            if keep {
                self.panic_follows = contains(line, PANICKED);
                self.kept.extend_from_slice(line);
            } else {
                self.dropped += line.len() as u64;
            }
        }
    }

    /// The kept output, lossily decoded.
    pub fn finish(mut self) -> String {
        if self.tail.len() > TAIL {
            self.cut_tail();
        }
        let mut all = self.head;
        // What followed a line cut short at the end of the head went on
        // in the middle: the next kept line is a line of its own.
        if !self.kept.is_empty() && all.last().is_some_and(|&b| b != b'\n') {
            all.push(b'\n');
        }
        all.extend_from_slice(&self.kept);
        if self.dropped > 0 {
            if all.last().is_some_and(|&b| b != b'\n') {
                all.push(b'\n');
            }
            all.extend_from_slice(
                format!(
                    "[leakcheck: {} bytes of output left out here]\n",
                    self.dropped
                )
                .as_bytes(),
            );
        }
        all.extend_from_slice(&self.tail);
        String::from_utf8_lossy(&all).into_owned()
    }
}

/// A quick first look for [`may_matter`]: `false` when its first and
/// last bytes rule the line out.
fn may_start_one(line: &[u8]) -> bool {
    let first = line[0];
    if matches!(
        first,
        b't' | b'r' | b'f' | b'-' | b' ' | b'l' | b'\n' | b'\r' | b'\t'
    ) {
        return true;
    }
    // `NAME: test`, `NAME: benchmark`, with their line ends.
    let mut last = line.len() - 1;
    while last > 0 && matches!(line[last], b'\n' | b'\r') {
        last -= 1;
    }
    matches!(line[last], b't' | b'k')
}

/// The first `\n` in `bytes`. A plain loop: in an unoptimised build it
/// is twice as fast as `memchr`'s, and a flood of output goes through it.
fn newline(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The last `\n` in `bytes`.
fn newline_from_end(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n')
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a panic's first line holds.
const PANICKED: &[u8] = b"panicked at ";

/// Whether a line from the middle of a large output may be one that
/// libtest's output is read for: its progress and result lines (`running
/// N tests`, `test NAME ... ok`, `test result: ...`), its account of the
/// failures (`failures:`, `---- NAME stdout ----`, the indented names, the
/// blank lines between), a test list's `NAME: test`, a panic (`thread
/// 'NAME' panicked at`), or the runtime's own notes. Lines are only kept,
/// never read, here.
fn may_matter(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(&first) = line.first() else {
        return true;
    };
    let starts = |p: &[u8]| line.starts_with(p);
    let by_first = match first {
        b't' => starts(b"test ") || (starts(b"thread '") && contains(line, PANICKED)),
        b'r' => starts(b"running "),
        b'f' => starts(b"failures:"),
        b'-' => starts(b"---- "),
        b' ' => starts(b"    ") || line.trim_ascii().is_empty(),
        b'l' => starts(b"leakcheck"),
        _ => line.trim_ascii().is_empty(),
    };
    by_first || line.ends_with(b": test") || line.ends_with(b": benchmark")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(chunks: &[&[u8]]) -> String {
        let mut capture = Capture::default();
        for chunk in chunks {
            capture.push(chunk);
        }
        capture.finish()
    }

    #[test]
    fn a_small_output_is_kept_whole_whatever_its_chunks() {
        let text = b"running 1 test\ntest a ... ok\n\nno newline at the end";
        for size in [1, 3, 7, text.len()] {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(captured(&chunks), String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn a_large_output_keeps_its_ends_and_the_lines_that_matter() {
        let mut capture = Capture::default();
        capture.push(b"running 3 tests\n");
        let noise = vec![b'x'; 999];
        let mut noise_line = noise.clone();
        noise_line.push(b'\n');
        for i in 0..20_000 {
            capture.push(&noise_line);
            if i == 5_000 {
                capture.push(b"test a ... ok\n");
                capture.push(b"thread 'b' panicked at src/lib.rs:3:5:\n");
                capture.push(b"the message\n");
            }
            if i == 6_000 {
                capture.push(b"test b ... FAILED\nfailures:\n    b\n");
            }
        }
        // One line with no end, far larger than a line is kept.
        for _ in 0..1_000 {
            capture.push(&noise);
        }
        capture.push(b"\ntest c ... ok\ntest result: FAILED. 2 passed; 1 failed;\n");
        let kept = capture.finish();
        assert!(kept.len() < HEAD + TAIL + (1 << 20), "{}", kept.len());
        let lines: Vec<&str> = kept
            .lines()
            .filter(|l| !l.starts_with('x'))
            .map(|l| match l.strip_prefix("[leakcheck: ") {
                Some(rest) if rest.ends_with(" bytes of output left out here]") => "[left out]",
                _ => l,
            })
            .collect();
        assert_eq!(
            lines,
            [
                "running 3 tests",
                "test a ... ok",
                "thread 'b' panicked at src/lib.rs:3:5:",
                "the message",
                "test b ... FAILED",
                "failures:",
                "    b",
                "[left out]",
                "test c ... ok",
                "test result: FAILED. 2 passed; 1 failed;",
            ]
        );
        // The tail is the output's last bytes, whole.
        let noise = String::from_utf8(noise).unwrap();
        assert!(kept.ends_with(&format!(
            "{noise}\ntest c ... ok\ntest result: FAILED. 2 passed; 1 failed;\n"
        )));
    }

    #[test]
    fn the_kept_middle_has_a_budget() {
        let mut capture = Capture::default();
        for _ in 0..(3 * KEPT / 20) {
            capture.push(b"test fake ... ok\n\n\n\n");
        }
        let kept = capture.finish();
        assert!(kept.len() <= HEAD + KEPT + TAIL + 100, "{}", kept.len());
        assert!(kept.contains("bytes of output left out here]"));
    }
}
