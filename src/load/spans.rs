//! JSON text → byte ranges: resolves RFC 6901 pointers to the key and value
//! spans of already-validated JSON text, and finds duplicate object keys
//! (which serde_json silently collapses, keeping the last). Iterative and
//! byte-level, so neither depth nor size can overflow the stack.

use std::borrow::Cow;
use std::collections::HashMap;

pub type Span = std::ops::Range<usize>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The member's key including its quotes; None for the root and for array elements.
    pub key: Option<Span>,
    /// The value, first byte to one past its last (strings with quotes, containers with brackets).
    pub value: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// JSON pointer of the duplicated member.
    pub pointer: String,
    /// The decoded key.
    pub key: String,
    /// Key span (with quotes) of the first occurrence.
    pub first: Span,
    /// Key span (with quotes) of this later occurrence, the one serde_json keeps.
    pub duplicate: Span,
}

/// Escape one reference token for a pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1")
    } else {
        token.to_string()
    }
}

fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

struct Scanner<'t> {
    bytes: &'t [u8],
}

impl<'t> Scanner<'t> {
    /// Skip whitespace (and a leading byte order mark) from `pos`.
    fn ws(&self, mut pos: usize) -> usize {
        if pos == 0 && self.bytes.starts_with("\u{FEFF}".as_bytes()) {
            pos = 3;
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(pos) {
            pos += 1;
        }
        pos
    }

    /// End (exclusive) of the string starting at the quote at `pos`.
    fn string_end(&self, pos: usize) -> Option<usize> {
        let mut i = pos + 1;
        loop {
            match self.bytes.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
    }

    /// End (exclusive) of the value starting at `pos` (no leading whitespace).
    fn value_end(&self, pos: usize) -> Option<usize> {
        match self.bytes.get(pos)? {
            b'"' => self.string_end(pos),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut i = pos;
                loop {
                    match self.bytes.get(i)? {
                        b'"' => {
                            i = self.string_end(i)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => {
                let mut i = pos;
                while let Some(b) = self.bytes.get(i) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    i += 1;
                }
                (i > pos).then_some(i)
            }
        }
    }

    /// The decoded text of the string token at `span`.
    fn decode(&self, span: &Span) -> Option<Cow<'t, str>> {
        let raw = self.bytes.get(span.clone())?;
        if raw.contains(&b'\\') {
            let text = std::str::from_utf8(raw).ok()?;
            serde_json::from_str::<String>(text).ok().map(Cow::Owned)
        } else {
            let inner = raw.get(1..raw.len().checked_sub(1)?)?;
            std::str::from_utf8(inner).ok().map(Cow::Borrowed)
        }
    }

    /// Resolve one reference token in the container starting at `pos`.
    fn child(&self, pos: usize, token: &str) -> Option<Located> {
        match self.bytes.get(pos)? {
            b'{' => {
                let mut found = None;
                let mut i = self.ws(pos + 1);
                if self.bytes.get(i) == Some(&b'}') {
                    return None;
                }
                loop {
                    let key = i..self.string_end(i)?;
                    let colon = self.ws(key.end);
                    let start = self.ws(colon + 1);
                    let end = self.value_end(start)?;
                    // The last of duplicate keys wins, as in serde_json.
                    if self.decode(&key)?.as_ref() == token {
                        found = Some(Located {
                            key: Some(key),
                            value: start..end,
                        });
                    }
                    let next = self.ws(end);
                    match self.bytes.get(next)? {
                        b',' => i = self.ws(next + 1),
                        _ => return found,
                    }
                }
            }
            b'[' => {
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                let index: usize = token.parse().ok()?;
                let mut i = self.ws(pos + 1);
                if self.bytes.get(i) == Some(&b']') {
                    return None;
                }
                let mut n = 0;
                loop {
                    let end = self.value_end(i)?;
                    if n == index {
                        return Some(Located {
                            key: None,
                            value: i..end,
                        });
                    }
                    let next = self.ws(end);
                    match self.bytes.get(next)? {
                        b',' => i = self.ws(next + 1),
                        _ => return None,
                    }
                    n += 1;
                }
            }
            _ => None,
        }
    }
}

fn root(scanner: &Scanner<'_>) -> Located {
    let start = scanner.ws(0);
    let end = scanner.value_end(start).unwrap_or(scanner.bytes.len());
    Located {
        key: None,
        value: start..end,
    }
}

/// Exact resolution; None when any token does not exist or the pointer is malformed.
pub fn locate(text: &str, pointer: &str) -> Option<Located> {
    let tokens = pointer.split('/').count().saturating_sub(1);
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    let (located, matched) = locate_nearest(text, pointer);
    (matched == tokens).then_some(located)
}

/// The deepest existing ancestor of the pointer's location, and how many
/// reference tokens of the pointer it matched (0: the root).
pub fn locate_nearest(text: &str, pointer: &str) -> (Located, usize) {
    let scanner = Scanner {
        bytes: text.as_bytes(),
    };
    let mut current = root(&scanner);
    if !pointer.starts_with('/') {
        return (current, 0);
    }
    let mut matched = 0;
    for token in pointer.split('/').skip(1) {
        match scanner.child(current.value.start, &unescape_token(token)) {
            Some(next) => {
                current = next;
                matched += 1;
            }
            None => break,
        }
    }
    (current, matched)
}

/// Every duplicate key, in text order of the later occurrence; a key present
/// three times gives two entries, each against the first.
pub fn duplicate_keys(text: &str) -> Vec<DuplicateKey> {
    // Each open container remembers only its own current child token; a
    // pointer is assembled from the stack when a duplicate needs one, so deep
    // documents cost linear, not quadratic, time.
    enum Frame<'t> {
        Object {
            keys: HashMap<Cow<'t, str>, Span>,
            /// The key of the member whose value is being read.
            pending: Option<String>,
        },
        Array {
            index: usize,
        },
    }
    fn pointer_of(frames: &[Frame<'_>]) -> String {
        frames
            .iter()
            .map(|frame| match frame {
                Frame::Object { pending, .. } => {
                    format!("/{}", escape_token(pending.as_deref().unwrap_or_default()))
                }
                Frame::Array { index } => format!("/{index}"),
            })
            .collect()
    }
    let scanner = Scanner {
        bytes: text.as_bytes(),
    };
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut i = scanner.ws(0);
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                stack.push(Frame::Object {
                    keys: HashMap::new(),
                    pending: None,
                });
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array { index: 0 });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                if let Some(Frame::Array { index }) = stack.last_mut() {
                    *index += 1;
                }
                i += 1;
            }
            b'"' => {
                let Some(end) = scanner.string_end(i) else {
                    break;
                };
                let span = i..end;
                let next = scanner.ws(end);
                let is_key = bytes.get(next) == Some(&b':')
                    && matches!(stack.last(), Some(Frame::Object { .. }));
                if is_key {
                    let Some(key) = scanner.decode(&span) else {
                        break;
                    };
                    let depth = stack.len() - 1;
                    let first = match &stack[depth] {
                        Frame::Object { keys, .. } => keys.get(&key).cloned(),
                        Frame::Array { .. } => None,
                    };
                    if let Some(first) = first {
                        found.push(DuplicateKey {
                            pointer: format!(
                                "{}/{}",
                                pointer_of(&stack[..depth]),
                                escape_token(&key)
                            ),
                            key: key.to_string(),
                            first,
                            duplicate: span,
                        });
                    }
                    if let Some(Frame::Object { keys, pending }) = stack.last_mut() {
                        *pending = Some(key.to_string());
                        keys.entry(key).or_insert(i..end);
                    }
                    i = next + 1;
                } else {
                    i = end;
                }
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'t>(text: &'t str, span: &Span) -> &'t str {
        &text[span.clone()]
    }

    #[test]
    fn resolves_members_elements_and_the_root() {
        let text = " {\"a\": {\"b\": [1, {\"c\": \"x\"}]}, \"d\": null} ";
        let root = locate(text, "").expect("root");
        assert_eq!(root.key, None);
        assert_eq!(at(text, &root.value), text.trim());
        let c = locate(text, "/a/b/1/c").expect("c");
        assert_eq!(at(text, c.key.as_ref().expect("key")), "\"c\"");
        assert_eq!(at(text, &c.value), "\"x\"");
        let one = locate(text, "/a/b/0").expect("element");
        assert_eq!((one.key, at(text, &one.value)), (None, "1"));
        assert_eq!(at(text, &locate(text, "/d").expect("d").value), "null");
    }

    #[test]
    fn escaped_tokens_and_keys_compare_decoded() {
        let text = r#"{"a/b": 1, "m~n": 2, "\u00e9": 3, "": 4, "q\"": 5}"#;
        assert_eq!(at(text, &locate(text, "/a~1b").expect("slash").value), "1");
        assert_eq!(at(text, &locate(text, "/m~0n").expect("tilde").value), "2");
        assert_eq!(at(text, &locate(text, "/é").expect("escape").value), "3");
        assert_eq!(at(text, &locate(text, "/").expect("empty key").value), "4");
        assert_eq!(at(text, &locate(text, "/q\"").expect("quote").value), "5");
    }

    #[test]
    fn missing_locations_resolve_to_their_deepest_ancestor() {
        let text = "{\"a\": {\"b\": [1]}}";
        assert_eq!(locate(text, "/a/x"), None);
        let (near, matched) = locate_nearest(text, "/a/x/y");
        assert_eq!(
            (at(text, near.key.as_ref().expect("key")), matched),
            ("\"a\"", 1)
        );
        assert_eq!(locate_nearest(text, "/a/b/5").1, 2);
        assert_eq!(locate(text, "/a/b/01"), None);
        assert_eq!(locate(text, "/a/b/-"), None);
        assert_eq!(locate(text, "a"), None);
        assert_eq!(locate_nearest(text, "/zz").1, 0);
    }

    #[test]
    fn the_last_duplicate_wins_and_all_duplicates_are_found() {
        let text = "{\"k\": 1, \"a\": [{\"x\": 1, \"x\": 2}], \"k\": 3, \"k\": 4}";
        assert_eq!(at(text, &locate(text, "/k").expect("k").value), "4");
        let dups = duplicate_keys(text);
        let summary: Vec<_> = dups
            .iter()
            .map(|d| (d.pointer.as_str(), d.first.start, d.duplicate.start))
            .collect();
        assert_eq!(
            summary,
            vec![("/a/0/x", 16, 24), ("/k", 1, 34), ("/k", 1, 42)]
        );
        assert_eq!(at(text, &dups[0].duplicate), "\"x\"");
    }

    #[test]
    fn strings_that_look_like_structure_are_skipped() {
        let text = r#"{"a": "}{][,:\"", "b": ["\\", {"c": ","}], "c": 1}"#;
        assert_eq!(at(text, &locate(text, "/b/1/c").expect("c").value), "\",\"");
        assert_eq!(at(text, &locate(text, "/c").expect("c").value), "1");
        assert!(duplicate_keys(text).is_empty());
    }

    #[test]
    fn byte_order_mark_is_whitespace() {
        let text = "\u{FEFF}{\"a\": 1}";
        assert_eq!(at(text, &locate(text, "/a").expect("a").value), "1");
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // Resolution rescans each level's value, so it is quadratic in depth;
        // documents reaching it parsed with serde_json, which stops at 128.
        let text = format!("{}{}", "[".repeat(128), "]".repeat(128));
        let inner = locate(&text, &"/0".repeat(127)).expect("innermost");
        assert_eq!(at(&text, &inner.value), "[]");
        let depth = 100_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(duplicate_keys(&text).is_empty());
        assert_eq!(locate_nearest(&text, "/0/0/5").1, 2);
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(duplicate_keys(&objects).is_empty());
    }

    #[test]
    fn malformed_text_never_panics() {
        for text in [
            "",
            "{",
            "{\"a\"",
            "{\"a\": [1,",
            "\"abc",
            "]]]",
            "{\"a\":}",
            "[,]",
        ] {
            let _ = locate_nearest(text, "/a/0");
            let _ = duplicate_keys(text);
        }
    }
}
