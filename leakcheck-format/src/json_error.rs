//! serde's message for a bad file, made fit for a one-line error.

/// `err`'s message with control characters escaped: serde quotes an unknown
/// field or variant name as it is in the file, so a name with an escaped
/// newline (`"\n"`) would otherwise break the message over lines.
pub fn reason(err: &crate::json::Error) -> String {
    let msg = err.to_string();
    if !msg.contains(char::is_control) {
        return msg;
    }
    let mut out = String::with_capacity(msg.len() + 8);
    for c in msg.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    enum Kind {
        Std,
    }

    #[test]
    fn control_characters_are_escaped() {
        let err = crate::json::from_slice::<Kind>(br#""\n\u0007x""#).unwrap_err();
        let reason = super::reason(&err);
        assert!(!reason.contains(char::is_control), "{reason}");
        assert!(reason.contains("\\n\\u{7}x"), "{reason}");
    }
}
