//! Protobuf's wire format, as far as `profile.proto` needs it: varints,
//! length-delimited fields, and repeated scalars packed or not.
//!
//! A field is a key (`field number << 3 | wire type`) and its value; wire
//! types 0 (varint), 1 (8 bytes), 2 (length-delimited) and 5 (4 bytes)
//! are read, and the deprecated groups (3, 4) are refused.

/// Wire type of a varint.
pub(super) const VARINT: u8 = 0;
/// Wire type of a length-delimited field.
pub(super) const LEN: u8 = 2;

/// Appends `v` as a varint.
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Writes the fields of one message.
#[derive(Debug, Default)]
pub(super) struct Writer {
    pub(super) buf: Vec<u8>,
}

impl Writer {
    fn key(&mut self, field: u32, wire: u8) {
        put_varint(&mut self.buf, u64::from(field) << 3 | u64::from(wire));
    }

    /// A `uint64` field; proto3 leaves out the default, 0.
    pub(super) fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, VARINT);
            put_varint(&mut self.buf, v);
        }
    }

    /// An `int64` field (negative numbers take ten bytes, as protobuf's).
    pub(super) fn int(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }

    pub(super) fn bool(&mut self, field: u32, v: bool) {
        self.uint(field, u64::from(v));
    }

    /// A length-delimited field: a string or a message, written even when
    /// empty (a repeated message or string must be, to count).
    pub(super) fn bytes(&mut self, field: u32, v: &[u8]) {
        self.key(field, LEN);
        put_varint(&mut self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// A message field, written by `write`.
    pub(super) fn message(&mut self, field: u32, write: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        write(&mut inner);
        self.bytes(field, &inner.buf);
    }

    /// A repeated scalar field, packed (protobuf 3's default).
    pub(super) fn packed(&mut self, field: u32, values: impl Iterator<Item = u64>) {
        let mut inner = Vec::new();
        for v in values {
            put_varint(&mut inner, v);
        }
        if !inner.is_empty() {
            self.bytes(field, &inner);
        }
    }
}

/// A field's value as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value<'a> {
    Varint(u64),
    Fixed(u64),
    Len(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The value of a scalar field: varints and fixed-width values alike.
    pub(super) fn int(self, field: &str) -> Result<i64, String> {
        match self {
            Value::Varint(v) | Value::Fixed(v) => Ok(v as i64),
            Value::Len(_) => Err(format!("{field} is length-delimited, not a number")),
        }
    }

    pub(super) fn uint(self, field: &str) -> Result<u64, String> {
        self.int(field).map(|v| v as u64)
    }

    pub(super) fn bytes(self, field: &str) -> Result<&'a [u8], String> {
        match self {
            Value::Len(b) => Ok(b),
            _ => Err(format!("{field} is a number, not length-delimited")),
        }
    }

    /// The values of a repeated scalar field: one, or a packed run of them.
    pub(super) fn each_int(self, field: &str, mut push: impl FnMut(i64)) -> Result<(), String> {
        match self {
            Value::Len(packed) => {
                let mut r = Reader::new(packed);
                while !r.at_end() {
                    push(r.varint().map_err(|e| format!("{field}: {e}"))? as i64);
                }
                Ok(())
            }
            v => {
                push(v.int(field)?);
                Ok(())
            }
        }
    }
}

/// Reads the fields of one message.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// A varint of at most ten bytes.
    pub(super) fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(format!("a varint is cut short at byte {}", self.pos));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(format!(
                    "bad varint (longer than 64 bits) at byte {}",
                    self.pos - 10
                ));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        unreachable!("the tenth byte ends the varint or is refused")
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let start = self.pos;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| {
                format!(
                    "a field of {n} bytes at byte {start} runs past the end ({} bytes)",
                    self.data.len()
                )
            })?;
        self.pos = end;
        Ok(&self.data[start..end])
    }

    /// The next field's number and value, or `None` at the end.
    pub(super) fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.at_end() {
            return Ok(None);
        }
        let at = self.pos;
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 {
            return Err(format!("field number 0 at byte {at}"));
        }
        let value = match (key & 7) as u8 {
            VARINT => Value::Varint(self.varint()?),
            1 => Value::Fixed(u64::from_le_bytes(
                self.take(8)?.try_into().expect("eight bytes"),
            )),
            LEN => {
                let n = self.varint()?;
                Value::Len(self.take(n)?)
            }
            5 => Value::Fixed(u64::from(u32::from_le_bytes(
                self.take(4)?.try_into().expect("four bytes"),
            ))),
            wire => {
                return Err(format!("unsupported wire type {wire} at byte {at}"));
            }
        };
        Ok(Some((number, value)))
    }
}
