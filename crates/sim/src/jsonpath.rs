//! Name the field a JSON reading error is about: `serde_json` says where in the text it
//! stopped (line and column); [`path_at`] walks the text up to there and says which
//! field that is (`workload.client.breaker.failures`, `faults[2].node`).
//!
//! Hand-written in place of `serde_path_to_error`, measured 2026-11-30: that crate wraps
//! every nested type's deserializer, 44 copies in the page's bundle (77 kB of WASM
//! before optimisation), and the app was 17 kB gzipped over its budget; this walker is
//! compiled once.

/// A reading error's message and the path of the field it is about.
pub fn describe(text: &str, e: &serde_json::Error) -> (String, String) {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = message
        .strip_suffix(&suffix)
        .map(str::to_string)
        .unwrap_or(message);
    (path_at(text, e.line(), e.column()), message)
}

enum Frame {
    /// An object, with the key whose value is being read (until the next comma).
    Object(Option<String>),
    /// An array, with the index of the element being read.
    Array(usize),
}

/// The path of the value being read at `line` and `column` (1-based, as `serde_json`
/// counts: bytes within the line) of `text`: keys joined by dots, indices in brackets.
/// Empty at the top level.
pub fn path_at(text: &str, line: usize, column: usize) -> String {
    let mut end = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            end += column.min(l.len());
            break;
        }
        end += l.len();
    }
    let all = text.as_bytes();
    let mut end = end.min(all.len());
    // A reader that fails once it has read a whole object or list (a visitor that
    // decides at the end) may have looked at the comma or bracket after it: the error
    // is about the value that closed, not the next one.
    let last = |e: usize| (0..e).rev().find(|&i| !all[i].is_ascii_whitespace());
    if let Some(i) = last(end) {
        if matches!(all[i], b',' | b']') && last(i).is_some_and(|j| matches!(all[j], b'}' | b']')) {
            end = i;
        }
    }
    let bytes = &all[..end];
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => stack.push(Frame::Object(None)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(k)) => *k = None,
                None => {}
            },
            b'"' => {
                // A string: a key when the object has none yet, else a value.
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object(k @ None)) = stack.last_mut() {
                    let raw = &text[start..j.min(bytes.len())];
                    *k = Some(
                        serde_json::from_str(&format!("\"{raw}\"")).unwrap_or(raw.to_string()),
                    );
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    // Stopped right at an array's opening bracket: the array itself was not what the
    // reader wanted (a list where an object goes), so the path is the array's.
    if bytes.iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        stack.pop();
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Object(Some(k)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object(None) => {}
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: u32,
        #[serde(default)]
        b: Vec<u32>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        items: Vec<Inner>,
        #[serde(default)]
        more: Option<Inner>,
    }

    fn err(text: &str) -> (String, String) {
        let e = serde_json::from_str::<Outer>(text).unwrap_err();
        describe(text, &e)
    }

    #[test]
    fn the_path_names_the_field_as_the_reader_met_it() {
        let (p, m) = err(r#"{"name": "x", "items": [{"a": 1}, {"a": "two"}]}"#);
        assert_eq!(p, "items[1].a");
        assert!(m.starts_with("invalid type: string \"two\""), "{m}");
        assert!(!m.contains("line"), "{m}");
        assert_eq!(err(r#"{"name": 5, "items": []}"#).0, "name");
        // Unknown fields: the path ends with the field itself.
        let (p, m) = err("{\"name\": \"x\",\n \"items\": [],\n \"more\": {\"a\": 1, \"c\": 2}}");
        assert_eq!(p, "more.c");
        assert!(m.contains("unknown field `c`"), "{m}");
        // Missing fields: the object that lacks it.
        let (p, m) = err(r#"{"name": "x", "items": [{"b": [1, 2]}]}"#);
        assert_eq!(p, "items[0]");
        assert!(m.contains("missing field `a`"), "{m}");
        // Nested arrays, escaped keys and strings with brackets are walked past.
        let (p, _) = err(r#"{"name": "a [ \" {", "items": [{"a": 1, "b": [1, "z"]}]}"#);
        assert_eq!(p, "items[0].b[1]");
        assert_eq!(err(r#"{"name": [1], "items": []}"#).0, "name");
        assert_eq!(err(r#"{"name": "x", "items": {"a": 1}}"#).0, "items");
    }
}
