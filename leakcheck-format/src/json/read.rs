//! The byte-level reader under the deserializer: serde_json's slice reader
//! (its grammar for numbers, strings and punctuation, its nesting limit,
//! and where its errors point), over one input slice.

use serde::de::{Unexpected, Visitor};

use super::error::{Code, Error};

/// The input and how far it was read.
pub(super) struct Deserializer<'de> {
    pub(super) data: &'de [u8],
    pub(super) index: usize,
    pub(super) scratch: Vec<u8>,
    pub(super) remaining_depth: u8,
}

/// A number as serde_json classifies it: unsigned, negative, or float.
pub(super) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    pub(super) fn visit<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Number::U64(n) => visitor.visit_u64(n),
            Number::I64(n) => visitor.visit_i64(n),
            Number::F64(n) => visitor.visit_f64(n),
        }
    }

    pub(super) fn unexpected(&self) -> Unexpected<'static> {
        match *self {
            Number::U64(n) => Unexpected::Unsigned(n),
            Number::I64(n) => Unexpected::Signed(n),
            Number::F64(n) => Unexpected::Float(n),
        }
    }
}

/// A string as read: borrowed from the input when it has no escapes.
pub(super) enum Str<'de, 's> {
    Borrowed(&'de str),
    Copied(&'s str),
}

impl<'de> Deserializer<'de> {
    pub(super) fn position_of(&self, i: usize) -> (usize, usize) {
        let head = &self.data[..i];
        let start_of_line = head.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = 1 + head[..start_of_line]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        (line, i - start_of_line)
    }

    /// An error caused by the byte just consumed.
    pub(super) fn error(&self, code: Code) -> Error {
        let (line, column) = self.position_of(self.index);
        Error::syntax(code, line, column)
    }

    /// An error caused by the byte about to be consumed.
    pub(super) fn peek_error(&self, code: Code) -> Error {
        let (line, column) = self.position_of((self.index + 1).min(self.data.len()));
        Error::syntax(code, line, column)
    }

    /// A serde error without a position gets the current one.
    pub(super) fn fix_position(&self, err: Error) -> Error {
        let (line, column) = self.position_of(self.index);
        err.at(line, column)
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.data.get(self.index).copied()
    }

    pub(super) fn peek_or_null(&self) -> u8 {
        self.peek().unwrap_or(0)
    }

    pub(super) fn eat_char(&mut self) {
        self.index += 1;
    }

    pub(super) fn next_char(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.index += 1;
        Some(c)
    }

    /// The next byte that is not whitespace, not consumed.
    pub(super) fn parse_whitespace(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.eat_char();
        }
        self.peek()
    }

    pub(super) fn parse_ident(&mut self, ident: &[u8]) -> Result<(), Error> {
        for expected in ident {
            match self.next_char() {
                None => return Err(self.error(Code::EofWhileParsingValue)),
                Some(c) if c != *expected => return Err(self.error(Code::ExpectedSomeIdent)),
                Some(_) => {}
            }
        }
        Ok(())
    }

    // ---- numbers ---------------------------------------------------------

    /// A number whose `-`, if any, was consumed; `start` is where it began.
    pub(super) fn parse_number(&mut self, positive: bool) -> Result<Number, Error> {
        let start = self.index - usize::from(!positive);
        let mut significand: Option<u64> = Some(0);
        match self.next_char() {
            None => return Err(self.error(Code::EofWhileParsingValue)),
            Some(b'0') => {
                if self.peek_or_null().is_ascii_digit() {
                    return Err(self.peek_error(Code::InvalidNumber));
                }
            }
            Some(c @ b'1'..=b'9') => {
                significand = Some(u64::from(c - b'0'));
                while let c @ b'0'..=b'9' = self.peek_or_null() {
                    self.eat_char();
                    significand = significand
                        .and_then(|s| s.checked_mul(10))
                        .and_then(|s| s.checked_add(u64::from(c - b'0')));
                }
            }
            Some(_) => return Err(self.error(Code::InvalidNumber)),
        }
        let mut float = significand.is_none();
        let mut nonzero = significand != Some(0);
        if self.peek_or_null() == b'.' {
            float = true;
            self.eat_char();
            if !self.peek_or_null().is_ascii_digit() {
                return Err(match self.peek() {
                    Some(_) => self.peek_error(Code::InvalidNumber),
                    None => self.peek_error(Code::EofWhileParsingValue),
                });
            }
            while let c @ b'0'..=b'9' = self.peek_or_null() {
                nonzero |= c != b'0';
                self.eat_char();
            }
        }
        if let b'e' | b'E' = self.peek_or_null() {
            float = true;
            self.eat_char();
            let positive_exp = match self.peek_or_null() {
                b'+' => {
                    self.eat_char();
                    true
                }
                b'-' => {
                    self.eat_char();
                    false
                }
                _ => true,
            };
            let mut exp = match self.next_char() {
                None => return Err(self.error(Code::EofWhileParsingValue)),
                Some(c @ b'0'..=b'9') => i32::from(c - b'0'),
                Some(_) => return Err(self.error(Code::InvalidNumber)),
            };
            while let c @ b'0'..=b'9' = self.peek_or_null() {
                self.eat_char();
                match exp
                    .checked_mul(10)
                    .and_then(|e| e.checked_add(i32::from(c - b'0')))
                {
                    Some(e) => exp = e,
                    // serde_json stops at the digit that overflows an i32:
                    // out of range, or zero for a tiny number.
                    None if nonzero && positive_exp => {
                        return Err(self.error(Code::NumberOutOfRange));
                    }
                    None => {
                        while self.peek_or_null().is_ascii_digit() {
                            self.eat_char();
                        }
                        return Ok(Number::F64(if positive { 0.0 } else { -0.0 }));
                    }
                }
            }
        }
        match significand {
            Some(s) if !float && positive => return Ok(Number::U64(s)),
            Some(s) if !float => {
                // serde_json: `-0` and numbers below i64::MIN become floats.
                let neg = (s as i64).wrapping_neg();
                return Ok(if neg >= 0 {
                    Number::F64(-(s as f64))
                } else {
                    Number::I64(neg)
                });
            }
            _ => {}
        }
        // The grammar was checked above, so this is an ASCII float literal;
        // std's parser rounds it correctly, as serde_json's
        // `float_roundtrip` does.
        let text = std::str::from_utf8(&self.data[start..self.index]).expect("ASCII digits");
        let value: f64 = text.parse().expect("a checked JSON number");
        if value.is_infinite() {
            return Err(self.error(Code::NumberOutOfRange));
        }
        Ok(Number::F64(value))
    }

    // ---- strings -----------------------------------------------------------

    /// A string whose opening quote was consumed.
    pub(super) fn parse_str(&mut self) -> Result<Str<'de, '_>, Error> {
        self.scratch.clear();
        let mut start = self.index;
        loop {
            while self
                .peek()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.index += 1;
            }
            let Some(b) = self.peek() else {
                return Err(self.error(Code::EofWhileParsingString));
            };
            match b {
                b'"' => {
                    let data = self.data;
                    let end = self.index;
                    self.index += 1;
                    if self.scratch.is_empty() {
                        return self.as_str(&data[start..end]).map(Str::Borrowed);
                    }
                    self.scratch.extend_from_slice(&data[start..end]);
                    return match std::str::from_utf8(&self.scratch) {
                        Ok(s) => Ok(Str::Copied(s)),
                        Err(e) => Err(self.invalid_utf8(self.scratch.len(), e.valid_up_to())),
                    };
                }
                b'\\' => {
                    let data = self.data;
                    self.scratch.extend_from_slice(&data[start..self.index]);
                    self.index += 1;
                    self.parse_escape()?;
                    start = self.index;
                }
                _ => {
                    self.index += 1;
                    return Err(self.error(Code::ControlCharacterWhileParsingString));
                }
            }
        }
    }

    pub(super) fn as_str(&self, bytes: &'de [u8]) -> Result<&'de str, Error> {
        std::str::from_utf8(bytes).map_err(|e| self.invalid_utf8(bytes.len(), e.valid_up_to()))
    }

    /// serde_json points at the first bad byte, counting back from the
    /// closing quote.
    pub(super) fn invalid_utf8(&self, len: usize, valid_up_to: usize) -> Error {
        let (line, column) = self.position_of(self.index);
        Error::syntax(
            Code::InvalidUnicodeCodePoint,
            line,
            column.saturating_sub(len - valid_up_to),
        )
    }

    pub(super) fn parse_escape(&mut self) -> Result<(), Error> {
        let c = match self.next_char() {
            Some(c) => c,
            None => return Err(self.error(Code::EofWhileParsingString)),
        };
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => b'\x08',
            b'f' => b'\x0c',
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.parse_unicode_escape(),
            _ => return Err(self.error(Code::InvalidEscape)),
        };
        self.scratch.push(byte);
        Ok(())
    }

    pub(super) fn decode_hex_escape(&mut self) -> Result<u16, Error> {
        let Some(hex) = self.data.get(self.index..self.index + 4) else {
            self.index = self.data.len();
            return Err(self.error(Code::EofWhileParsingString));
        };
        self.index += 4;
        let mut n = 0u16;
        for &h in hex {
            let digit = match h {
                b'0'..=b'9' => h - b'0',
                b'a'..=b'f' => h - b'a' + 10,
                b'A'..=b'F' => h - b'A' + 10,
                _ => return Err(self.error(Code::InvalidEscape)),
            };
            n = n * 16 + u16::from(digit);
        }
        Ok(n)
    }

    /// `\u` was consumed; surrogates must come in pairs.
    pub(super) fn parse_unicode_escape(&mut self) -> Result<(), Error> {
        let n = self.decode_hex_escape()?;
        if (0xDC00..=0xDFFF).contains(&n) {
            return Err(self.error(Code::LoneLeadingSurrogateInHexEscape));
        }
        let code = if (0xD800..=0xDBFF).contains(&n) {
            for expected in [b'\\', b'u'] {
                match self.peek() {
                    None => return Err(self.error(Code::EofWhileParsingString)),
                    Some(c) if c == expected => self.eat_char(),
                    Some(_) => {
                        self.eat_char();
                        return Err(self.error(Code::UnexpectedEndOfHexEscape));
                    }
                }
            }
            let n2 = self.decode_hex_escape()?;
            if !(0xDC00..=0xDFFF).contains(&n2) {
                return Err(self.error(Code::LoneLeadingSurrogateInHexEscape));
            }
            ((u32::from(n - 0xD800) << 10) | u32::from(n2 - 0xDC00)) + 0x1_0000
        } else {
            u32::from(n)
        };
        let c = char::from_u32(code).expect("not a surrogate");
        let mut buf = [0; 4];
        self.scratch
            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    // ---- structure -----------------------------------------------------------

    pub(super) fn parse_object_colon(&mut self) -> Result<(), Error> {
        match self.parse_whitespace() {
            Some(b':') => {
                self.eat_char();
                Ok(())
            }
            Some(_) => Err(self.peek_error(Code::ExpectedColon)),
            None => Err(self.peek_error(Code::EofWhileParsingObject)),
        }
    }

    pub(super) fn end_seq(&mut self) -> Result<(), Error> {
        match self.parse_whitespace() {
            Some(b']') => {
                self.eat_char();
                Ok(())
            }
            Some(b',') => {
                self.eat_char();
                match self.parse_whitespace() {
                    Some(b']') => Err(self.peek_error(Code::TrailingComma)),
                    _ => Err(self.peek_error(Code::TrailingCharacters)),
                }
            }
            Some(_) => Err(self.peek_error(Code::TrailingCharacters)),
            None => Err(self.peek_error(Code::EofWhileParsingList)),
        }
    }

    pub(super) fn end_map(&mut self) -> Result<(), Error> {
        match self.parse_whitespace() {
            Some(b'}') => {
                self.eat_char();
                Ok(())
            }
            Some(b',') => Err(self.peek_error(Code::TrailingComma)),
            Some(_) => Err(self.peek_error(Code::TrailingCharacters)),
            None => Err(self.peek_error(Code::EofWhileParsingObject)),
        }
    }

    /// Runs `visit` one nesting level deeper, refusing past 128 levels.
    pub(super) fn nested<T>(
        &mut self,
        visit: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.remaining_depth -= 1;
        if self.remaining_depth == 0 {
            return Err(self.peek_error(Code::RecursionLimitExceeded));
        }
        self.eat_char();
        let ret = visit(self);
        self.remaining_depth += 1;
        ret
    }
}
