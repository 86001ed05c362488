//! Reading JSON into serde types: a port of serde_json's slice reader for
//! the data model leakcheck's files use, with its grammar, its limits
//! (nesting depth 128, strict UTF-8, paired surrogates, exact floats) and
//! its error messages and positions, so a bad file reads the same.

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Expected, Unexpected, Visitor};

use super::error::{Code, Error};

/// Parses one JSON document (surrounded by whitespace only) into `T`.
pub(crate) fn from_slice<'de, T: de::Deserialize<'de>>(data: &'de [u8]) -> Result<T, Error> {
    let mut de = Deserializer {
        data,
        index: 0,
        scratch: Vec::new(),
        remaining_depth: 128,
    };
    let value = T::deserialize(&mut de)?;
    match de.parse_whitespace() {
        Some(_) => Err(de.peek_error(Code::TrailingCharacters)),
        None => Ok(value),
    }
}

struct Deserializer<'de> {
    data: &'de [u8],
    index: usize,
    scratch: Vec<u8>,
    remaining_depth: u8,
}

enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    fn visit<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Number::U64(n) => visitor.visit_u64(n),
            Number::I64(n) => visitor.visit_i64(n),
            Number::F64(n) => visitor.visit_f64(n),
        }
    }

    fn unexpected(&self) -> Unexpected<'static> {
        match *self {
            Number::U64(n) => Unexpected::Unsigned(n),
            Number::I64(n) => Unexpected::Signed(n),
            Number::F64(n) => Unexpected::Float(n),
        }
    }
}

/// A string as read: borrowed from the input when it has no escapes.
enum Str<'de, 's> {
    Borrowed(&'de str),
    Copied(&'s str),
}

impl<'de> Deserializer<'de> {
    fn position_of(&self, i: usize) -> (usize, usize) {
        let head = &self.data[..i];
        let start_of_line = head.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = 1 + head[..start_of_line]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        (line, i - start_of_line)
    }

    /// An error caused by the byte just consumed.
    fn error(&self, code: Code) -> Error {
        let (line, column) = self.position_of(self.index);
        Error::syntax(code, line, column)
    }

    /// An error caused by the byte about to be consumed.
    fn peek_error(&self, code: Code) -> Error {
        let (line, column) = self.position_of((self.index + 1).min(self.data.len()));
        Error::syntax(code, line, column)
    }

    /// A serde error without a position gets the current one.
    fn fix_position(&self, err: Error) -> Error {
        let (line, column) = self.position_of(self.index);
        err.at(line, column)
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.index).copied()
    }

    fn peek_or_null(&self) -> u8 {
        self.peek().unwrap_or(0)
    }

    fn eat_char(&mut self) {
        self.index += 1;
    }

    fn next_char(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.index += 1;
        Some(c)
    }

    /// The next byte that is not whitespace, not consumed.
    fn parse_whitespace(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.eat_char();
        }
        self.peek()
    }

    fn parse_ident(&mut self, ident: &[u8]) -> Result<(), Error> {
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
    fn parse_number(&mut self, positive: bool) -> Result<Number, Error> {
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
    fn parse_str(&mut self) -> Result<Str<'de, '_>, Error> {
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

    fn as_str(&self, bytes: &'de [u8]) -> Result<&'de str, Error> {
        std::str::from_utf8(bytes).map_err(|e| self.invalid_utf8(bytes.len(), e.valid_up_to()))
    }

    /// serde_json points at the first bad byte, counting back from the
    /// closing quote.
    fn invalid_utf8(&self, len: usize, valid_up_to: usize) -> Error {
        let (line, column) = self.position_of(self.index);
        Error::syntax(
            Code::InvalidUnicodeCodePoint,
            line,
            column.saturating_sub(len - valid_up_to),
        )
    }

    fn parse_escape(&mut self) -> Result<(), Error> {
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

    fn decode_hex_escape(&mut self) -> Result<u16, Error> {
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
    fn parse_unicode_escape(&mut self) -> Result<(), Error> {
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

    fn parse_object_colon(&mut self) -> Result<(), Error> {
        match self.parse_whitespace() {
            Some(b':') => {
                self.eat_char();
                Ok(())
            }
            Some(_) => Err(self.peek_error(Code::ExpectedColon)),
            None => Err(self.peek_error(Code::EofWhileParsingObject)),
        }
    }

    fn end_seq(&mut self) -> Result<(), Error> {
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

    fn end_map(&mut self) -> Result<(), Error> {
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
    fn nested<T>(&mut self, visit: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        self.remaining_depth -= 1;
        if self.remaining_depth == 0 {
            return Err(self.peek_error(Code::RecursionLimitExceeded));
        }
        self.eat_char();
        let ret = visit(self);
        self.remaining_depth += 1;
        ret
    }

    fn visit_seq<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        let ret = self.nested(|de| visitor.visit_seq(SeqAccess { de, first: true }));
        let end = self.end_seq();
        match (ret, end) {
            (Ok(ret), Ok(())) => Ok(ret),
            (Err(err), _) | (_, Err(err)) => Err(err),
        }
    }

    fn visit_map<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        let ret = self.nested(|de| visitor.visit_map(MapAccess { de, first: true }));
        // serde_json reads the closing brace even when the visitor failed,
        // which moves the position the visitor's error is given.
        let end = self.end_map();
        match (ret, end) {
            (Ok(ret), Ok(())) => Ok(ret),
            (Err(err), _) | (_, Err(err)) => Err(err),
        }
    }

    fn visit_str<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        self.eat_char();
        match self.parse_str()? {
            Str::Borrowed(s) => visitor.visit_borrowed_str(s),
            Str::Copied(s) => visitor.visit_str(s),
        }
    }

    /// The error for a value of the wrong kind, after reading that value's
    /// first token (serde_json names the string or number it found).
    fn peek_invalid_type(&mut self, exp: &dyn Expected) -> Error {
        let err = match self.peek_or_null() {
            b'n' => {
                self.eat_char();
                if let Err(err) = self.parse_ident(b"ull") {
                    return err;
                }
                de::Error::invalid_type(Unexpected::Unit, exp)
            }
            b't' => {
                self.eat_char();
                if let Err(err) = self.parse_ident(b"rue") {
                    return err;
                }
                de::Error::invalid_type(Unexpected::Bool(true), exp)
            }
            b'f' => {
                self.eat_char();
                if let Err(err) = self.parse_ident(b"alse") {
                    return err;
                }
                de::Error::invalid_type(Unexpected::Bool(false), exp)
            }
            b'-' => {
                self.eat_char();
                match self.parse_number(false) {
                    Ok(n) => de::Error::invalid_type(n.unexpected(), exp),
                    Err(err) => return err,
                }
            }
            b'0'..=b'9' => match self.parse_number(true) {
                Ok(n) => de::Error::invalid_type(n.unexpected(), exp),
                Err(err) => return err,
            },
            b'"' => {
                self.eat_char();
                match self.parse_str() {
                    Ok(Str::Borrowed(s) | Str::Copied(s)) => {
                        de::Error::invalid_type(Unexpected::Str(s), exp)
                    }
                    Err(err) => return err,
                }
            }
            b'[' => de::Error::invalid_type(Unexpected::Seq, exp),
            b'{' => de::Error::invalid_type(Unexpected::Map, exp),
            _ => self.peek_error(Code::ExpectedSomeValue),
        };
        self.fix_position(err)
    }

    /// The next value's first byte, or the error for the end of input.
    fn start_value(&mut self) -> Result<u8, Error> {
        self.parse_whitespace()
            .ok_or_else(|| self.peek_error(Code::EofWhileParsingValue))
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'n' => {
                self.eat_char();
                self.parse_ident(b"ull")?;
                visitor.visit_unit()
            }
            b't' => {
                self.eat_char();
                self.parse_ident(b"rue")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.eat_char();
                self.parse_ident(b"alse")?;
                visitor.visit_bool(false)
            }
            b'-' => {
                self.eat_char();
                self.parse_number(false)?.visit(visitor)
            }
            b'0'..=b'9' => self.parse_number(true)?.visit(visitor),
            b'"' => self.visit_str(visitor),
            b'[' => self.visit_seq(visitor),
            b'{' => self.visit_map(visitor),
            _ => Err(self.peek_error(Code::ExpectedSomeValue)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b't' => {
                self.eat_char();
                self.parse_ident(b"rue")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.eat_char();
                self.parse_ident(b"alse")?;
                visitor.visit_bool(false)
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'-' => {
                self.eat_char();
                self.parse_number(false)?.visit(visitor)
            }
            b'0'..=b'9' => self.parse_number(true)?.visit(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'"' => self.visit_str(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.parse_whitespace() == Some(b'n') {
            self.eat_char();
            self.parse_ident(b"ull")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'n' => {
                self.eat_char();
                self.parse_ident(b"ull")?;
                visitor.visit_unit()
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'[' => self.visit_seq(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'{' => self.visit_map(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let value = match self.start_value()? {
            b'[' => self.visit_seq(visitor),
            b'{' => self.visit_map(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    /// A unit variant is a string; any other variant an object of one key.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.parse_whitespace() {
            Some(b'{') => {
                let value = self.nested(|de| visitor.visit_enum(VariantAccess { de }))?;
                match self.parse_whitespace() {
                    Some(b'}') => {
                        self.eat_char();
                        Ok(value)
                    }
                    Some(_) => Err(self.error(Code::ExpectedSomeValue)),
                    None => Err(self.error(Code::EofWhileParsingObject)),
                }
            }
            Some(b'"') => visitor.visit_enum(UnitVariantAccess { de: self }),
            Some(_) => Err(self.peek_error(Code::ExpectedSomeValue)),
            None => Err(self.peek_error(Code::EofWhileParsingValue)),
        }
    }

    /// Skipped values are still checked in full (serde_json checks their
    /// syntax too); the first, untyped pass of every loader has read them
    /// at the same depth already.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(&mut *self, de::IgnoredAny)?;
        visitor.visit_unit()
    }
}

struct SeqAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    first: bool,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let peek = self
            .de
            .parse_whitespace()
            .ok_or_else(|| self.de.peek_error(Code::EofWhileParsingList))?;
        let more = if peek == b']' {
            false
        } else if self.first {
            self.first = false;
            true
        } else if peek == b',' {
            self.de.eat_char();
            match self.de.parse_whitespace() {
                Some(b']') => return Err(self.de.peek_error(Code::TrailingComma)),
                Some(_) => true,
                None => return Err(self.de.peek_error(Code::EofWhileParsingValue)),
            }
        } else {
            return Err(self.de.peek_error(Code::ExpectedListCommaOrEnd));
        };
        if more {
            seed.deserialize(&mut *self.de).map(Some)
        } else {
            Ok(None)
        }
    }
}

struct MapAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    first: bool,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let peek = self
            .de
            .parse_whitespace()
            .ok_or_else(|| self.de.peek_error(Code::EofWhileParsingObject))?;
        let more = if peek == b'}' {
            false
        } else if self.first {
            self.first = false;
            if peek != b'"' {
                return Err(self.de.peek_error(Code::KeyMustBeAString));
            }
            true
        } else if peek == b',' {
            self.de.eat_char();
            match self.de.parse_whitespace() {
                Some(b'"') => true,
                Some(b'}') => return Err(self.de.peek_error(Code::TrailingComma)),
                Some(_) => return Err(self.de.peek_error(Code::KeyMustBeAString)),
                None => return Err(self.de.peek_error(Code::EofWhileParsingValue)),
            }
        } else {
            return Err(self.de.peek_error(Code::ExpectedObjectCommaOrEnd));
        };
        if more {
            seed.deserialize(MapKey { de: &mut *self.de }).map(Some)
        } else {
            Ok(None)
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.de.parse_object_colon()?;
        seed.deserialize(&mut *self.de)
    }
}

/// A key, after its opening quote was seen (not consumed).
struct MapKey<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::Deserializer<'de> for MapKey<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.de.visit_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.de, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

struct VariantAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for VariantAccess<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        match self.de.parse_whitespace() {
            Some(b'"') => {}
            Some(b'}') => return Err(self.de.peek_error(Code::ExpectedSomeValue)),
            Some(_) => return Err(self.de.peek_error(Code::KeyMustBeAString)),
            None => return Err(self.de.peek_error(Code::EofWhileParsingObject)),
        }
        let val = seed
            .deserialize(MapKey { de: &mut *self.de })
            .map_err(|err| self.de.fix_position(err))?;
        self.de.parse_object_colon()?;
        Ok((val, self))
    }
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        <()>::deserialize(self.de)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self.de, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self.de, "", fields, visitor)
    }
}

struct UnitVariantAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for UnitVariantAccess<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(&mut *self.de)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariantAccess<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"newtype variant",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"tuple variant",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"struct variant",
        ))
    }
}
