//! The reader and writer against serde_json's behaviour, case by case (the
//! expected texts are serde_json 1.0's, with `float_roundtrip`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::value::Number;
use super::{Value, from_slice, to_string, to_string_pretty};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Std,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    name: String,
    line: u32,
    rate: f64,
    kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    tags: Vec<String>,
}

fn row() -> Row {
    Row {
        name: "a \"quoted\"\tname\u{1}é".into(),
        line: 10,
        rate: 1024.0,
        kind: Kind::Std,
        note: None,
        tags: vec!["x".into(), String::new()],
    }
}

fn err<T: for<'de> Deserialize<'de> + std::fmt::Debug>(json: &str) -> String {
    from_slice::<T>(json.as_bytes()).unwrap_err().to_string()
}

#[test]
fn compact_and_pretty_layouts() {
    let r = row();
    assert_eq!(
        to_string(&r).unwrap(),
        r#"{"name":"a \"quoted\"\tname\u0001é","line":10,"rate":1024.0,"kind":"std","tags":["x",""]}"#
    );
    assert_eq!(
        to_string_pretty(&vec![r]).unwrap(),
        "[\n  {\n    \"name\": \"a \\\"quoted\\\"\\tname\\u0001é\",\n    \"line\": 10,\n    \
         \"rate\": 1024.0,\n    \"kind\": \"std\",\n    \"tags\": [\n      \"x\",\n      \"\"\n    ]\n  }\n]"
    );
    let empty: (Vec<u8>, BTreeMap<String, u8>) = (Vec::new(), BTreeMap::new());
    assert_eq!(to_string_pretty(&empty).unwrap(), "[\n  [],\n  {}\n]");
    assert_eq!(
        to_string(&(f64::NAN, Some(1), None::<u8>, 'c')).unwrap(),
        "[null,1,null,\"c\"]"
    );
}

#[test]
fn values_round_trip() {
    let mut r = row();
    r.note = Some("\u{1F600} \\ / \u{7f}".into());
    for text in [to_string(&r).unwrap(), to_string_pretty(&r).unwrap()] {
        assert_eq!(from_slice::<Row>(text.as_bytes()).unwrap(), r, "{text}");
    }
}

#[test]
fn escapes_are_decoded() {
    let s: String = from_slice(br#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap();
    assert_eq!(s, "\"\\/\u{8}\u{c}\n\r\té\u{1F600}");
}

#[test]
fn untyped_values() {
    let v: Value =
        from_slice(br#"{"b": [true, null, -1, 2, 0.5, -0], "a": "x", "a": "y"}"#).unwrap();
    assert_eq!(v.get("a").and_then(Value::as_str), Some("y"));
    let Some(Value::Array(items)) = v.get("b") else {
        panic!("{v:?}")
    };
    assert_eq!(
        items,
        &[
            Value::Bool(true),
            Value::Null,
            Value::Number(Number::I64(-1)),
            Value::Number(Number::U64(2)),
            Value::Number(Number::F64(0.5)),
            Value::Number(Number::F64(-0.0)),
        ]
    );
    assert_eq!(v.to_string(), r#"{"a":"y","b":[true,null,-1,2,0.5,-0.0]}"#);
    assert_eq!(items[2].as_u64(), None);
    assert_eq!(items[3].as_u64(), Some(2));
}

#[test]
fn syntax_errors_read_as_serde_json_words_them() {
    for (json, msg) in [
        ("", "EOF while parsing a value at line 1 column 0"),
        ("[1,", "EOF while parsing a value at line 1 column 3"),
        ("{\"a\"", "EOF while parsing an object at line 1 column 4"),
        ("{\"a\" 1}", "expected `:` at line 1 column 6"),
        ("[1 2]", "expected `,` or `]` at line 1 column 4"),
        ("{\"a\":1 \"b\"}", "expected `,` or `}` at line 1 column 8"),
        ("[1,]", "trailing comma at line 1 column 4"),
        ("{\"a\":1,}", "trailing comma at line 1 column 8"),
        ("{1:2}", "key must be a string at line 1 column 2"),
        ("[tru]", "expected ident at line 1 column 5"),
        ("x", "expected value at line 1 column 1"),
        ("\u{feff}[]", "expected value at line 1 column 1"),
        ("[01]", "invalid number at line 1 column 3"),
        ("[1.]", "invalid number at line 1 column 4"),
        ("[1e]", "invalid number at line 1 column 4"),
        ("[-]", "invalid number at line 1 column 3"),
        ("[1e999]", "number out of range at line 1 column 6"),
        ("\"\\x\"", "invalid escape at line 1 column 3"),
        ("\"\\u12G4\"", "invalid escape at line 1 column 7"),
        (
            "\"a\nb\"",
            "control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0",
        ),
        (
            "\"\\ud800\"",
            "unexpected end of hex escape at line 1 column 8",
        ),
        (
            "\"\\udc00\"",
            "lone leading surrogate in hex escape at line 1 column 7",
        ),
        ("\"abc", "EOF while parsing a string at line 1 column 4"),
        ("[] x", "trailing characters at line 1 column 4"),
        ("[\n1,\n  2", "EOF while parsing a list at line 3 column 3"),
    ] {
        assert_eq!(err::<Value>(json), msg, "{json:?}");
    }
    let deep = "[".repeat(200);
    assert_eq!(
        err::<Value>(&deep),
        "recursion limit exceeded at line 1 column 128"
    );
    let mut latin1 = b"[\"ab".to_vec();
    latin1.extend([0xE9, b'"', b']']);
    assert_eq!(
        from_slice::<Value>(&latin1).unwrap_err().to_string(),
        "invalid unicode code point at line 1 column 5"
    );
}

#[test]
fn type_errors_name_what_was_found() {
    for (json, msg) in [
        (
            "\"1\"",
            "invalid type: string \"1\", expected u32 at line 1 column 3",
        ),
        (
            "1.5",
            "invalid type: floating point `1.5`, expected u32 at line 1 column 3",
        ),
        (
            "-10",
            "invalid value: integer `-10`, expected u32 at line 1 column 3",
        ),
        (
            "4294967296",
            "invalid value: integer `4294967296`, expected u32 at line 1 column 10",
        ),
        (
            "null",
            "invalid type: null, expected u32 at line 1 column 4",
        ),
        (
            "[1]",
            "invalid type: sequence, expected u32 at line 1 column 0",
        ),
    ] {
        assert_eq!(err::<u32>(json), msg, "{json:?}");
    }
    assert_eq!(
        err::<Kind>("\"grown\""),
        "unknown variant `grown`, expected `std` or `other` at line 1 column 7"
    );
    assert_eq!(
        err::<Row>(r#"{"name": "x", "line": 1}"#),
        "missing field `rate` at line 1 column 24"
    );
    assert_eq!(
        err::<Row>(r#"{"name": "x", "name": "y"}"#),
        "duplicate field `name` at line 1 column 20"
    );
}
