//! Owns the way back from a parsed JSON document to its text: RFC 6901 pointers to byte spans,
//! and the duplicate object keys that serde_json silently collapses.
//!
//! serde_json's `Value` forgets where things were, so diagnostics need a second look at the text.
//! The text has already been validated by serde_json, which lets this module use a cheap byte
//! scanner instead of a parser; it still never panics or loops on invalid input, it just gives up.
//! Every walk is iterative with an explicit stack, so nesting depth costs heap, never call stack.

use std::borrow::Cow;
use std::collections::HashMap;

pub type Span = std::ops::Range<usize>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The member's key including its quotes; None for the root and for array elements.
    pub key: Option<Span>,
    /// The value, from its first to one past its last byte (for strings, including quotes; for objects/arrays, the brackets).
    pub value: Span,
}

/// Exact resolution; None when any token does not exist (or the pointer is malformed, e.g. non-empty without leading '/').
pub fn locate(text: &str, pointer: &str) -> Option<Located> {
    let tokens = parse_pointer(pointer)?;
    let (found, matched) = resolve(text, &tokens)?;
    (matched == tokens.len()).then_some(found)
}

/// Resolution of the deepest existing ancestor: returns the Located of the longest existing prefix of the pointer and how many reference tokens of the pointer were matched (0 = root). Used when a policy names a path that does not exist (e.g. a missing property) — the diagnostic then points at the nearest enclosing value.
pub fn locate_nearest(text: &str, pointer: &str) -> (Located, usize) {
    // A malformed pointer names nothing inside the document, so the root is the nearest thing to it.
    let tokens = parse_pointer(pointer).unwrap_or_default();
    resolve(text, &tokens).unwrap_or_else(|| (trimmed_root(text.as_bytes()), 0))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// JSON pointer of the duplicated member (its object's pointer + "/" + escaped key).
    pub pointer: String,
    /// The decoded key.
    pub key: String,
    /// Key span (with quotes) of the earlier occurrence.
    pub first: Span,
    /// Key span (with quotes) of the later occurrence (the one serde_json keeps).
    pub duplicate: Span,
}

/// All duplicate keys, in text order of the duplicate occurrence. A key appearing 3 times yields 2 entries (each later one against the first).
pub fn duplicate_keys(text: &str) -> Vec<DuplicateKey> {
    let mut found = Vec::new();
    // Invalid text just ends the scan early: whatever was found up to there is still true.
    let _ = scan_duplicates(text, &mut found);
    found
}

/// Escape one reference token for a pointer (~ -> ~0, / -> ~1).
pub fn escape_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    push_escaped(&mut out, token);
    out
}

fn push_escaped(out: &mut String, token: &str) {
    if !token.contains(['~', '/']) {
        out.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

fn parse_pointer(pointer: &str) -> Option<Vec<Cow<'_, str>>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    Some(
        pointer
            .strip_prefix('/')?
            .split('/')
            .map(unescape_token)
            .collect(),
    )
}

/// Like serde_json's `Value::pointer`, an unknown escape such as `~2` is kept literally rather than
/// rejected, so that anything serde_json can resolve can also be located.
fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        // ~1 first: decoding ~0 first would turn "~01" into "/" instead of "~1".
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// RFC 6901 array indexes: plain decimal, no sign, no leading zero; "-" names no existing element.
fn array_index(token: &str) -> Option<usize> {
    let bytes = token.as_bytes();
    let canonical = !bytes.is_empty()
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes.len() == 1 || bytes[0] != b'0');
    if canonical { token.parse().ok() } else { None }
}

// ---------------------------------------------------------------------------------------------
// Byte scanner. Positions of ASCII bytes are always char boundaries in UTF-8, so every span it
// produces can slice the &str.

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn root_start(b: &[u8]) -> usize {
    let from = if b.starts_with(BOM) { BOM.len() } else { 0 };
    skip_ws(b, from)
}

fn trimmed_root(b: &[u8]) -> Located {
    let start = root_start(b);
    let mut end = b.len();
    while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        end -= 1;
    }
    Located {
        key: None,
        value: start..end.max(start),
    }
}

#[inline]
fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(pos) {
        pos += 1;
    }
    pos
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks the bytes of `word` equal to `byte`. Borrows can flag bytes above a real match, never
/// below one, so the lowest mark (the only one callers use) is always exact.
#[inline]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// First position at or after `from` whose byte satisfies `hit`, testing eight bytes at a time with
/// `word_hits` (which must agree with `hit`, possibly flagging extra non-ASCII bytes) because
/// string bodies and the insides of skipped values are most of a document.
#[inline]
fn find_byte(
    b: &[u8],
    from: usize,
    word_hits: impl Fn(u64) -> u64,
    hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut rest = b.get(from..)?;
    let mut at = from;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let hits = word_hits(u64::from_le_bytes(*chunk));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
        rest = tail;
    }
    rest.iter().position(|&c| hit(c)).map(|i| at + i)
}

/// Returns one past the closing quote, and whether the body holds any backslash escape.
fn skip_string(b: &[u8], open: usize) -> Option<(usize, bool)> {
    if b.get(open) != Some(&b'"') {
        return None;
    }
    let mut pos = open + 1;
    let mut escaped = false;
    loop {
        pos = find_byte(
            b,
            pos,
            |w| bytes_equal(w, b'"') | bytes_equal(w, b'\\'),
            |c| c == b'"' || c == b'\\',
        )?;
        if b.get(pos) == Some(&b'"') {
            return Some((pos + 1, escaped));
        }
        // The byte after a backslash is never a terminator, even when it is a quote.
        escaped = true;
        pos += 2;
    }
}

/// Scans for the bracket that brings `depth` to zero, skipping strings whole so that brackets
/// inside them do not count. Starts at an opening bracket with depth 0, or inside a container
/// with depth 1.
fn skip_nested(b: &[u8], mut pos: usize, mut depth: usize) -> Option<usize> {
    // Clearing bit 5 folds '{' onto '[' and '}' onto ']'; it also folds some non-ASCII bytes onto
    // them, which valid JSON only has inside strings, and the match below ignores any stray one.
    const FOLD: u64 = !(0x2020_2020_2020_2020);
    loop {
        pos = find_byte(
            b,
            pos,
            |w| {
                let folded = w & FOLD;
                bytes_equal(w, b'"') | bytes_equal(folded, b'[') | bytes_equal(folded, b']')
            },
            |c| matches!(c, b'"' | b'[' | b']' | b'{' | b'}'),
        )?;
        match b.get(pos)? {
            b'"' => {
                pos = skip_string(b, pos)?.0;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(pos + 1);
                }
            }
            _ => {}
        }
        pos += 1;
    }
}

/// Numbers and literals: everything up to the next delimiter.
fn skip_scalar(b: &[u8], start: usize) -> Option<usize> {
    let rest = b.get(start..)?;
    let len = rest
        .iter()
        .position(|&c| {
            matches!(
                c,
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'"' | b'[' | b']' | b'{' | b'}'
            )
        })
        .unwrap_or(rest.len());
    (len > 0).then_some(start + len)
}

/// One past the last byte of the value starting at `pos`.
fn skip_value(b: &[u8], pos: usize) -> Option<usize> {
    match b.get(pos)? {
        b'"' => skip_string(b, pos).map(|(end, _)| end),
        b'{' | b'[' => skip_nested(b, pos, 0),
        _ => skip_scalar(b, pos),
    }
}

/// The decoded key of the string at `span`, borrowed when it has no escapes.
fn decode_key<'a>(text: &'a str, span: &Span, escaped: bool) -> Option<Cow<'a, str>> {
    if escaped {
        serde_json::from_str::<String>(text.get(span.clone())?)
            .ok()
            .map(Cow::Owned)
    } else {
        text.get(span.start + 1..span.end - 1).map(Cow::Borrowed)
    }
}

fn key_is(text: &str, span: &Span, escaped: bool, token: &str) -> bool {
    let body = span.end - span.start - 2;
    if !escaped {
        return text.as_bytes().get(span.start + 1..span.end - 1) == Some(token.as_bytes());
    }
    // Every escape decodes to fewer bytes than it is written with, so a body shorter than the
    // token cannot match and is not worth decoding.
    body >= token.len() && decode_key(text, span, true).is_some_and(|key| key == token)
}

// ---------------------------------------------------------------------------------------------
// Pointer resolution.
//
// A later duplicate key overrides an earlier one, so an object can only be left once it has been
// scanned to its end. Doing that with a separate skip at every level would rescan a deep chain
// once per level (quadratic); instead the walk descends into a matching member right away and,
// when that member's value ends, carries on scanning the enclosing object from there. Each byte is
// thus looked at by one level only.

/// A located value and how many pointer tokens lead to it.
type Found = (Located, usize);

/// A container being walked because the pointer continues into it.
struct Level {
    key: Option<Span>,
    start: usize,
    object: bool,
    /// What the pointer resolved to below this container, from the last matching member.
    best: Option<Found>,
}

enum Next {
    /// A value starts here, reached through these tokens (as many as there are levels).
    Enter(usize, Option<Span>),
    /// The member or element being followed ended here; the innermost level carries on.
    Resume(usize),
}

enum Members {
    /// A member whose key matches: its key and where its value starts.
    Matched(Span, usize),
    /// One past the closing brace.
    Closed(usize),
}

enum Element {
    At(usize),
    /// The index is out of range; one past the closing bracket.
    Missing(usize),
}

fn resolve(text: &str, tokens: &[Cow<'_, str>]) -> Option<Found> {
    let b = text.as_bytes();
    let mut levels: Vec<Level> = Vec::new();
    let mut open_objects = 0usize;
    let mut next = Next::Enter(root_start(b), None);
    loop {
        let (found, end) = match next {
            Next::Enter(pos, key) => {
                let depth = levels.len();
                match (b.get(pos)?, tokens.get(depth)) {
                    (b'{', Some(token)) => {
                        levels.push(Level {
                            key,
                            start: pos,
                            object: true,
                            best: None,
                        });
                        open_objects += 1;
                        match scan_members(text, token, pos + 1, false)? {
                            Members::Matched(key, value) => {
                                next = Next::Enter(value, Some(key));
                                continue;
                            }
                            Members::Closed(end) => close(&mut levels, &mut open_objects, end)?,
                        }
                    }
                    (b'[', Some(token)) => match array_index(token) {
                        Some(index) => match find_element(b, pos, index)? {
                            Element::At(element) => {
                                levels.push(Level {
                                    key,
                                    start: pos,
                                    object: false,
                                    best: None,
                                });
                                next = Next::Enter(element, None);
                                continue;
                            }
                            Element::Missing(end) => (
                                (
                                    Located {
                                        key,
                                        value: pos..end,
                                    },
                                    depth,
                                ),
                                end,
                            ),
                        },
                        None => {
                            let end = skip_value(b, pos)?;
                            (
                                (
                                    Located {
                                        key,
                                        value: pos..end,
                                    },
                                    depth,
                                ),
                                end,
                            )
                        }
                    },
                    _ => {
                        let end = skip_value(b, pos)?;
                        (
                            (
                                Located {
                                    key,
                                    value: pos..end,
                                },
                                depth,
                            ),
                            end,
                        )
                    }
                }
            }
            Next::Resume(pos) => {
                let top = levels.last()?;
                if top.object {
                    let token = tokens.get(levels.len() - 1)?;
                    match scan_members(text, token, pos, true)? {
                        Members::Matched(key, value) => {
                            next = Next::Enter(value, Some(key));
                            continue;
                        }
                        Members::Closed(end) => close(&mut levels, &mut open_objects, end)?,
                    }
                } else if open_objects == 0 {
                    // Only arrays enclose this element, and arrays cannot override it, so the rest
                    // of the document cannot change the answer.
                    return levels.pop()?.best;
                } else {
                    let end = skip_nested(b, pos, 1)?;
                    close(&mut levels, &mut open_objects, end)?
                }
            }
        };
        match levels.last_mut() {
            None => return Some(found),
            Some(parent) => {
                parent.best = Some(found);
                next = Next::Resume(end);
            }
        }
    }
}

/// Finishes the innermost level, which ends at `end`.
fn close(levels: &mut Vec<Level>, open_objects: &mut usize, end: usize) -> Option<(Found, usize)> {
    let level = levels.pop()?;
    if level.object {
        *open_objects = open_objects.saturating_sub(1);
    }
    let depth = levels.len();
    let found = level.best.unwrap_or((
        Located {
            key: level.key,
            value: level.start..end,
        },
        depth,
    ));
    Some((found, end))
}

/// Scans an object's members from `pos` (just after the brace, or just after a member's value
/// when `after_value`) to the next member named `token` or to the closing brace.
fn scan_members(text: &str, token: &str, mut pos: usize, after_value: bool) -> Option<Members> {
    let b = text.as_bytes();
    let mut need_comma = after_value;
    loop {
        pos = skip_ws(b, pos);
        match b.get(pos)? {
            b'}' => return Some(Members::Closed(pos + 1)),
            b',' if need_comma => pos = skip_ws(b, pos + 1),
            b'"' if !need_comma => {}
            _ => return None,
        }
        let (key_end, escaped) = skip_string(b, pos)?;
        let key = pos..key_end;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let value = skip_ws(b, colon + 1);
        if key_is(text, &key, escaped, token) {
            return Some(Members::Matched(key, value));
        }
        pos = skip_value(b, value)?;
        need_comma = true;
    }
}

fn find_element(b: &[u8], open: usize, index: usize) -> Option<Element> {
    let mut pos = skip_ws(b, open + 1);
    if b.get(pos) == Some(&b']') {
        return Some(Element::Missing(pos + 1));
    }
    let mut at = 0usize;
    loop {
        if at == index {
            return Some(Element::At(pos));
        }
        pos = skip_ws(b, skip_value(b, pos)?);
        match b.get(pos)? {
            b',' => {
                pos = skip_ws(b, pos + 1);
                at += 1;
            }
            b']' => return Some(Element::Missing(pos + 1)),
            _ => return None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Duplicate keys.

/// An open container. Keys borrow from the text unless they had escapes, so a document without
/// escaped keys is scanned without allocating per key.
enum Frame<'a> {
    Object {
        seen: Keys<'a>,
        /// The member whose value is being scanned; pointers are only built for a duplicate.
        current: Cow<'a, str>,
    },
    Array {
        index: usize,
    },
}

/// First occurrence of each key seen so far in one object. Most objects have a handful of keys,
/// which a linear search finds faster than hashing; large ones get an index.
#[derive(Default)]
struct Keys<'a> {
    list: Vec<(Cow<'a, str>, Span)>,
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a> Keys<'a> {
    const INDEX_FROM: usize = 16;

    fn first(&self, key: &str) -> Option<Span> {
        let at = match &self.index {
            Some(index) => *index.get(key)?,
            None => self.list.iter().position(|(k, _)| k == key)?,
        };
        self.list.get(at).map(|(_, span)| span.clone())
    }

    fn insert(&mut self, key: Cow<'a, str>, span: Span) {
        let at = self.list.len();
        match &mut self.index {
            Some(index) => {
                index.insert(key.clone(), at);
            }
            None if at + 1 >= Self::INDEX_FROM => {
                let mut index: HashMap<_, _> = self
                    .list
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect();
                index.insert(key.clone(), at);
                self.index = Some(index);
            }
            None => {}
        }
        self.list.push((key, span));
    }
}

/// One pass over the text; returns None where the text stops being JSON.
fn scan_duplicates<'a>(text: &'a str, found: &mut Vec<DuplicateKey>) -> Option<()> {
    let b = text.as_bytes();
    let mut frames: Vec<Frame<'a>> = Vec::new();
    let mut pos = root_start(b);
    loop {
        // A value starts at `pos`.
        match b.get(pos)? {
            b'{' => {
                pos = skip_ws(b, pos + 1);
                if b.get(pos) == Some(&b'}') {
                    pos += 1;
                } else {
                    frames.push(Frame::Object {
                        seen: Keys::default(),
                        current: Cow::Borrowed(""),
                    });
                    pos = member(text, pos, &mut frames, found)?;
                    continue;
                }
            }
            b'[' => {
                pos = skip_ws(b, pos + 1);
                if b.get(pos) == Some(&b']') {
                    pos += 1;
                } else {
                    frames.push(Frame::Array { index: 0 });
                    continue;
                }
            }
            _ => pos = skip_value(b, pos)?,
        }
        // The value has ended: close containers until one has a next member or element.
        loop {
            pos = skip_ws(b, pos);
            let Some(top) = frames.last_mut() else {
                return Some(());
            };
            match b.get(pos)? {
                b',' => {
                    pos = skip_ws(b, pos + 1);
                    match top {
                        Frame::Array { index } => *index += 1,
                        Frame::Object { .. } => pos = member(text, pos, &mut frames, found)?,
                    }
                    break;
                }
                b']' | b'}' => {
                    frames.pop();
                    pos += 1;
                }
                _ => return None,
            }
        }
    }
}

/// Reads a member's key at `pos`, records it in the innermost object (reporting it if seen
/// before) and returns where its value starts.
fn member<'a>(
    text: &'a str,
    pos: usize,
    frames: &mut [Frame<'a>],
    found: &mut Vec<DuplicateKey>,
) -> Option<usize> {
    let b = text.as_bytes();
    let (end, escaped) = skip_string(b, pos)?;
    let span = pos..end;
    let key = decode_key(text, &span, escaped)?;
    let (innermost, outer) = frames.split_last_mut()?;
    let Frame::Object { seen, current } = innermost else {
        return None;
    };
    match seen.first(&key) {
        Some(first) => found.push(DuplicateKey {
            pointer: member_pointer(outer, &key),
            key: key.clone().into_owned(),
            first,
            duplicate: span,
        }),
        None => {
            seen.insert(key.clone(), span);
        }
    }
    *current = key;
    let colon = skip_ws(b, end);
    if b.get(colon) != Some(&b':') {
        return None;
    }
    Some(skip_ws(b, colon + 1))
}

fn member_pointer(outer: &[Frame<'_>], key: &str) -> String {
    let mut pointer = String::new();
    for frame in outer {
        pointer.push('/');
        match frame {
            Frame::Object { current, .. } => push_escaped(&mut pointer, current),
            Frame::Array { index } => pointer.push_str(&index.to_string()),
        }
    }
    pointer.push('/');
    push_escaped(&mut pointer, key);
    pointer
}

#[cfg(test)]
mod tests {
    // Test failures are meant to panic with the value in hand.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Number, Value};

    fn at<'t>(text: &'t str, span: &Span) -> &'t str {
        &text[span.clone()]
    }

    /// The value text at `pointer`, and its key text if it has one.
    fn texts<'t>(text: &'t str, pointer: &str) -> (Option<&'t str>, &'t str) {
        let found = locate(text, pointer).unwrap();
        (found.key.map(|k| at(text, &k)), at(text, &found.value))
    }

    #[test]
    fn root_is_the_trimmed_value() {
        let text = " \n\t{\"a\": 1}\r\n ";
        let root = locate(text, "").unwrap();
        assert_eq!(root.key, None);
        assert_eq!(at(text, &root.value), "{\"a\": 1}");
        assert_eq!(locate_nearest(text, ""), (root, 0));
        let scalar = "  42 ";
        assert_eq!(texts(scalar, ""), (None, "42"));
        assert_eq!(texts("\"s\"", ""), (None, "\"s\""));
    }

    #[test]
    fn nested_objects_and_arrays() {
        let text = r#"{"runtime":{"orchestration":{"temporal":{"namespace":"prod","port":7233}}},
            "sources":[{"url":"https://a"},{"url":"https://b","tags":["x",["y",{"z":null}]]}]}"#;
        assert_eq!(
            texts(text, "/runtime/orchestration/temporal/namespace"),
            (Some("\"namespace\""), "\"prod\"")
        );
        assert_eq!(
            texts(text, "/runtime/orchestration/temporal/port"),
            (Some("\"port\""), "7233")
        );
        assert_eq!(
            texts(text, "/sources/0/url"),
            (Some("\"url\""), "\"https://a\"")
        );
        assert_eq!(
            texts(text, "/sources/1/url"),
            (Some("\"url\""), "\"https://b\"")
        );
        assert_eq!(
            texts(text, "/sources/1/tags/1"),
            (None, "[\"y\",{\"z\":null}]")
        );
        assert_eq!(
            texts(text, "/sources/1/tags/1/1/z"),
            (Some("\"z\""), "null")
        );
        assert_eq!(texts(text, "/sources/0"), (None, "{\"url\":\"https://a\"}"));
        assert_eq!(locate(text, "/sources/2"), None);
        assert_eq!(locate(text, "/sources/1/tags/1/1/z/deeper"), None);
        assert_eq!(
            locate(text, "/runtime/orchestration/temporal/namespace/0"),
            None
        );
    }

    #[test]
    fn array_tokens_must_be_canonical_indexes() {
        let text = "[10, 11, [12], {\"0\": 13}]";
        assert_eq!(texts(text, "/0"), (None, "10"));
        assert_eq!(texts(text, "/2/0"), (None, "12"));
        for bad in [
            "/-",
            "/01",
            "/00",
            "/+1",
            "/4",
            "/1e0",
            "/",
            "/18446744073709551616",
        ] {
            assert_eq!(locate(text, bad), None, "{bad}");
        }
        // On an object a numeric-looking token is just a key.
        assert_eq!(texts(text, "/3/0"), (Some("\"0\""), "13"));
        assert_eq!(locate("[]", "/0"), None);
        let many = format!(
            "[{}]",
            (0..12).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        );
        assert_eq!(texts(&many, "/11"), (None, "11"));
    }

    #[test]
    fn keys_with_special_characters() {
        let text = r#"{"a/b":1,"m~n":2,"~1":3,"é":4,"\u00e9x":5,"\"q\"":6,"x\\y":7,"\/s":8,
            "\ud83d\ude00":9,"":10,"tab\tin":11,"a":{"":{"":12}}}"#;
        assert_eq!(texts(text, "/a~1b"), (Some("\"a/b\""), "1"));
        assert_eq!(texts(text, "/m~0n"), (Some("\"m~n\""), "2"));
        assert_eq!(texts(text, "/~01"), (Some("\"~1\""), "3"));
        assert_eq!(texts(text, "/é"), (Some("\"é\""), "4"));
        assert_eq!(texts(text, "/éx"), (Some("\"\\u00e9x\""), "5"));
        assert_eq!(texts(text, "/\"q\""), (Some(r#""\"q\"""#), "6"));
        assert_eq!(texts(text, "/x\\y"), (Some(r#""x\\y""#), "7"));
        assert_eq!(texts(text, "/~1s"), (Some(r#""\/s""#), "8"));
        assert_eq!(texts(text, "/😀"), (Some(r#""\ud83d\ude00""#), "9"));
        assert_eq!(texts(text, "/"), (Some("\"\""), "10"));
        assert_eq!(texts(text, "/tab\tin"), (Some("\"tab\\tin\""), "11"));
        assert_eq!(texts(text, "/a//"), (Some("\"\""), "12"));
        assert_eq!(locate(text, "/a~1c"), None);
        // Like serde_json's Value::pointer, an unknown escape is taken literally.
        assert_eq!(texts(text, "/m~n"), (Some("\"m~n\""), "2"));
        assert_eq!(locate(text, "/m~2n"), None);
    }

    #[test]
    fn escape_token_round_trips() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(escape_token("~1"), "~01");
        assert_eq!(escape_token("plain"), "plain");
        assert_eq!(escape_token(""), "");
        for token in ["a/b~c", "~1", "~01/", "//~~", "é😀"] {
            assert_eq!(unescape_token(&escape_token(token)), token);
        }
    }

    #[test]
    fn malformed_pointers() {
        let text = r#"{"a":{"b":1}}"#;
        assert_eq!(locate(text, "a"), None);
        assert_eq!(locate(text, "a/b"), None);
        let (root, matched) = locate_nearest(text, "a/b");
        assert_eq!((at(text, &root.value), root.key, matched), (text, None, 0));
    }

    #[test]
    fn duplicate_keys_resolve_to_the_last_occurrence() {
        let text = r#"{"a":{"x":1},"b":2,"a":{"y":3}}"#;
        assert_eq!(texts(text, "/a"), (Some("\"a\""), "{\"y\":3}"));
        assert_eq!(locate(text, "/a").unwrap().key, Some(19..22));
        assert_eq!(texts(text, "/a/y"), (Some("\"y\""), "3"));
        // Only the last occurrence counts, as in serde_json's Value.
        assert_eq!(locate(text, "/a/x"), None);
        let (nearest, matched) = locate_nearest(text, "/a/x");
        assert_eq!((at(text, &nearest.value), matched), ("{\"y\":3}", 1));
        // A later occurrence that is shallower than the first still wins.
        let text = r#"{"a":{"b":{"c":1}},"a":{"b":5}}"#;
        let (nearest, matched) = locate_nearest(text, "/a/b/c");
        assert_eq!((at(text, &nearest.value), matched), ("5", 2));
        let text = r#"{"k":1,"k":2,"k":3}"#;
        assert_eq!(texts(text, "/k"), (Some("\"k\""), "3"));
        // Escaped and plain spellings of one key are the same key.
        let text = r#"{"é":1,"\u00e9":2}"#;
        assert_eq!(texts(text, "/é"), (Some("\"\\u00e9\""), "2"));
    }

    #[test]
    fn duplicate_keys_are_listed_with_spans_and_pointers() {
        let text =
            r#"{"a":[{"b":1,"c":{"b":0},"b":2}],"k":1,"k":2,"x/~":0,"k":3,"x/~":{"":1,"":2}}"#;
        let dups = duplicate_keys(text);
        let shown: Vec<_> = dups
            .iter()
            .map(|d| {
                (
                    d.pointer.as_str(),
                    d.key.as_str(),
                    at(text, &d.first),
                    at(text, &d.duplicate),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("/a/0/b", "b", "\"b\"", "\"b\""),
                ("/k", "k", "\"k\"", "\"k\""),
                ("/k", "k", "\"k\"", "\"k\""),
                ("/x~1~0", "x/~", "\"x/~\"", "\"x/~\""),
                ("/x~1~0/", "", "\"\"", "\"\""),
            ]
        );
        let k = |n: usize| text.match_indices("\"k\"").nth(n).unwrap().0;
        assert_eq!((dups[1].first.start, dups[1].duplicate.start), (k(0), k(1)));
        assert_eq!((dups[2].first.start, dups[2].duplicate.start), (k(0), k(2)));
        assert_eq!(dups[1].first, k(0)..k(0) + 3);
        let b = |n: usize| text.match_indices("\"b\"").nth(n).unwrap().0;
        assert_eq!((dups[0].first.start, dups[0].duplicate.start), (b(0), b(2)));
    }

    #[test]
    fn duplicate_keys_in_large_objects() {
        // Past the size where keys get a hash index, earlier keys must still be found.
        let mut members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        members.insert(10, "\"k3\":-1".to_owned());
        members.push("\"k3\":-2".to_owned());
        members.push("\"k39\":-3".to_owned());
        members.push("\"k\\u0030\":-4".to_owned());
        let text = format!("{{{}}}", members.join(","));
        let dups = duplicate_keys(&text);
        let shown: Vec<_> = dups
            .iter()
            .map(|d| (d.pointer.as_str(), at(&text, &d.duplicate)))
            .collect();
        assert_eq!(
            shown,
            [
                ("/k3", "\"k3\""),
                ("/k3", "\"k3\""),
                ("/k39", "\"k39\""),
                ("/k0", "\"k\\u0030\"")
            ]
        );
        assert!(
            dups.iter()
                .all(|d| at(&text, &d.first) == format!("\"{}\"", d.key))
        );
        let k3 = text.find("\"k3\"").unwrap();
        assert_eq!(dups[0].first, k3..k3 + 4);
        assert_eq!(texts(&text, "/k3"), (Some("\"k3\""), "-2"));
        assert_eq!(texts(&text, "/k0"), (Some("\"k\\u0030\""), "-4"));
        assert_eq!(texts(&text, "/k20"), (Some("\"k20\""), "20"));
    }

    #[test]
    fn duplicate_keys_compare_decoded_keys() {
        let text =
            r#"[1, {"a\"b": 1, "\u0061\"b": 2}, {"😀": 1, "\ud83d\ude00": 2}, {"a":1, "A":2}]"#;
        let dups = duplicate_keys(text);
        assert_eq!(dups.len(), 2);
        assert_eq!(
            (dups[0].pointer.as_str(), dups[0].key.as_str()),
            ("/1/a\"b", "a\"b")
        );
        assert_eq!(at(text, &dups[0].duplicate), r#""\u0061\"b""#);
        assert_eq!(
            (dups[1].pointer.as_str(), dups[1].key.as_str()),
            ("/2/😀", "😀")
        );
        assert_eq!(
            duplicate_keys(r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#),
            []
        );
        assert_eq!(duplicate_keys("[]"), []);
        assert_eq!(duplicate_keys("{}"), []);
        assert_eq!(duplicate_keys("\"x\""), []);
    }

    #[test]
    fn pretty_minified_and_spaced_text_agree() {
        let value: Value = serde_json::json!({
            "a": [1, {"b": "c", "d": [true, null, -1.5e10]}],
            "e": {"": {"f/g": "h"}}
        });
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let minified = serde_json::to_string(&value).unwrap();
        let spaced = " \r\n\t{ \"a\" \n: [ 1 ,\t{ \"b\" : \"c\" , \"d\" :\r[ true , null , -1.5e10 ] } ] ,\n\"e\" : { \"\" : { \"f/g\" :\"h\" } } } \n";
        for text in [pretty.as_str(), minified.as_str(), spaced] {
            let number: Value = serde_json::from_str(texts(text, "/a/1/d/2").1).unwrap();
            assert_eq!(number, value["a"][1]["d"][2]);
            assert_eq!(texts(text, "/a/1/d/1"), (None, "null"));
            assert_eq!(texts(text, "/e//f~1g"), (Some("\"f/g\""), "\"h\""));
            assert_eq!(texts(text, "/a/0"), (None, "1"));
            let d: Value = serde_json::from_str(texts(text, "/a/1/d").1).unwrap();
            assert_eq!(d, value["a"][1]["d"]);
            assert_eq!(duplicate_keys(text), []);
        }
    }

    #[test]
    fn byte_order_mark_is_whitespace() {
        let text = "\u{feff}{\"a\":[1,{\"a\":2,\"a\":3}]}";
        let root = locate(text, "").unwrap();
        assert_eq!(root.value, 3..text.len());
        assert_eq!(texts(text, "/a/1/a"), (Some("\"a\""), "3"));
        let dups = duplicate_keys(text);
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].pointer, "/a/1/a");
        assert_eq!(dups[0].first, 12..15);
        assert_eq!(texts("\u{feff} 7 ", ""), (None, "7"));
    }

    #[test]
    fn nearest_ancestor() {
        let text =
            r#"{"runtime":{"orchestration":{"temporal":{"host":"h"}}},"sources":[{"url":"u"}]}"#;
        let check = |pointer: &str, expected: &str, key: Option<&str>, matched: usize| {
            let (found, n) = locate_nearest(text, pointer);
            assert_eq!(at(text, &found.value), expected, "{pointer}");
            assert_eq!(found.key.map(|k| at(text, &k)), key, "{pointer}");
            assert_eq!(n, matched, "{pointer}");
        };
        let temporal = r#"{"host":"h"}"#;
        let missing_leaf = "/runtime/orchestration/temporal/namespace";
        check(missing_leaf, temporal, Some("\"temporal\""), 3);
        check(
            "/runtime/scheduler/temporal/namespace",
            r#"{"orchestration":{"temporal":{"host":"h"}}}"#,
            Some("\"runtime\""),
            1,
        );
        check("/sources/3/url", r#"[{"url":"u"}]"#, Some("\"sources\""), 1);
        check("/sources/-", r#"[{"url":"u"}]"#, Some("\"sources\""), 1);
        check("/sources/0/url/x", "\"u\"", Some("\"url\""), 3);
        check("/nope", text, None, 0);
        check("", text, None, 0);
        check(
            "/runtime/orchestration/temporal/host",
            "\"h\"",
            Some("\"host\""),
            4,
        );
    }

    #[test]
    fn invalid_text_never_panics() {
        let samples = [
            "",
            "   ",
            "\u{feff}",
            "{",
            "[",
            "}",
            "]",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\" 1}",
            "[1 2]",
            "[1,",
            "\"abc",
            "\"abc\\",
            "{\"a\":1,}",
            "[1,]",
            "{,}",
            "{1:2}",
            "]]]]",
            "[[[",
            "{\"a\":{\"a\":[}}",
            "nul",
            ":",
            ",",
            "{\"a\":1}}}",
            "\"\\u12\"",
            "{\"\\uZZZZ\":1,\"b\":2}",
        ];
        for text in samples {
            for pointer in ["", "/", "/a", "/0", "/a/0", "/a/a", "a", "/b"] {
                let _ = locate(text, pointer);
                let (found, _) = locate_nearest(text, pointer);
                assert!(found.value.start <= found.value.end && found.value.end <= text.len());
            }
            let _ = duplicate_keys(text);
        }
        // Every prefix of a valid document is handled too.
        let text = r#"{"a":[1,{"b":"x\"y","b":[true,null]}],"c":{"":-1e5}}"#;
        for end in 0..=text.len() {
            let prefix = &text[..end];
            let _ = locate(prefix, "/a/1/b/1");
            let _ = locate_nearest(prefix, "/c/");
            let _ = duplicate_keys(prefix);
        }
    }

    #[test]
    fn deep_nesting_uses_no_call_stack() {
        // Runs on a fresh thread with the default stack, so a recursive walk would overflow.
        std::thread::spawn(|| {
            const DEPTH: usize = 100_000;
            let mut text = String::new();
            let mut pointer = String::new();
            for level in 0..DEPTH {
                if level % 2 == 0 {
                    text.push_str("{\"k\":");
                    pointer.push_str("/k");
                } else {
                    text.push_str("[0,");
                    pointer.push_str("/1");
                }
            }
            let start = text.len();
            text.push_str("\"x\"");
            for level in (0..DEPTH).rev() {
                text.push(if level % 2 == 0 { '}' } else { ']' });
            }
            let found = locate(&text, &pointer).unwrap();
            assert_eq!(found.value, start..start + 3);
            assert_eq!(found.key, None);
            let (nearest, matched) = locate_nearest(&text, &format!("{pointer}/k/0"));
            assert_eq!((nearest, matched), (found, DEPTH));
            assert_eq!(duplicate_keys(&text), []);

            let deep = format!(
                "{}{{\"d\":1,\"d\":2}}{}",
                "[".repeat(DEPTH),
                "]".repeat(DEPTH)
            );
            let dups = duplicate_keys(&deep);
            assert_eq!(dups.len(), 1);
            assert_eq!(dups[0].pointer, format!("{}/d", "/0".repeat(DEPTH)));
            assert_eq!(texts(&deep, &dups[0].pointer), (Some("\"d\""), "2"));
        })
        .join()
        .unwrap();
    }

    /// Not a timing assertion: run with `--release --ignored` under `time` to gauge throughput on
    /// a large document.
    #[test]
    #[ignore = "large input; run on demand in release mode"]
    fn large_document() {
        let mut text = String::from("{\"items\":[");
        let mut n = 0usize;
        while text.len() < 50_000_000 {
            if n > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                "{{\"id\":{n},\"name\":\"item \\\"{n}\\\"\",\"tags\":[\"a\",\"b\",{{\"k\":[1.5,-2e3,null]}}],\n  \"enabled\":true,\"note\":\"{}\"}}",
                "lorem ipsum ".repeat(n % 7)
            ));
            n += 1;
        }
        text.push_str("],\"last\":{\"x\":1}}");
        let last = format!("/items/{}/tags/2/k/1", n - 1);
        assert_eq!(texts(&text, &last), (None, "-2e3"));
        assert_eq!(texts(&text, "/last/x"), (Some("\"x\""), "1"));
        assert_eq!(locate_nearest(&text, "/last/y").1, 1);
        assert_eq!(duplicate_keys(&text), []);
    }

    // ------------------------------------------------------------------------------------------
    // Properties.

    const KEYS: &[&str] = &[
        "",
        "a/b",
        "m~n",
        "é",
        "\"q\"",
        "x\\y",
        "~1",
        "/",
        "~",
        "a",
        "b",
        "key",
        "k",
        "0",
        "1",
        "😀",
        "tab\there",
        "\u{1}",
    ];

    fn arb_key() -> impl Strategy<Value = String> {
        prop::sample::select(KEYS).prop_map(String::from)
    }

    fn arb_string() -> impl Strategy<Value = String> {
        let chars = vec![
            'a', 'z', ' ', '"', '\\', '/', '\n', '\t', '\u{1}', '\u{7f}', 'é', '😀', '~',
            '\u{2028}', '{', ']',
        ];
        prop::collection::vec(prop::sample::select(chars), 0..8).prop_map(String::from_iter)
    }

    fn arb_number() -> impl Strategy<Value = Number> {
        prop_oneof![
            any::<i64>().prop_map(Number::from),
            any::<u64>().prop_map(Number::from),
            (-1e300f64..1e300).prop_filter_map("finite", Number::from_f64),
            prop::sample::select(vec![0.0, -0.0, 1.5e-10, -2.5e200, 1e21, 123.456])
                .prop_filter_map("finite", Number::from_f64),
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            arb_number().prop_map(Value::Number),
            arb_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(arb_key(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    fn arb_object() -> impl Strategy<Value = Value> {
        prop::collection::btree_map(arb_key(), arb_value(), 1..5)
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
    }

    /// Serializes with whitespace around every token, drawn in turn from a fixed list.
    fn spaced(value: &Value, turn: &mut usize, out: &mut String) {
        const GAPS: &[&str] = &["", " ", "\n", "\t\r\n  ", "\r", "  "];
        fn gap(turn: &mut usize, out: &mut String) {
            *turn += 1;
            out.push_str(GAPS[*turn % GAPS.len()]);
        }
        gap(turn, out);
        match value {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        gap(turn, out);
                        out.push(',');
                    }
                    spaced(item, turn, out);
                }
                gap(turn, out);
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (key, item)) in members.iter().enumerate() {
                    if i > 0 {
                        gap(turn, out);
                        out.push(',');
                    }
                    gap(turn, out);
                    out.push_str(&serde_json::to_string(key).unwrap());
                    gap(turn, out);
                    out.push(':');
                    spaced(item, turn, out);
                }
                gap(turn, out);
                out.push('}');
            }
            scalar => out.push_str(&serde_json::to_string(scalar).unwrap()),
        }
        gap(turn, out);
    }

    fn renderings(value: &Value) -> Vec<String> {
        let mut spaced_text = String::new();
        spaced(value, &mut 0, &mut spaced_text);
        let compact = serde_json::to_string(value).unwrap();
        vec![
            format!("\u{feff}{compact}"),
            compact,
            serde_json::to_string_pretty(value).unwrap(),
            spaced_text,
        ]
    }

    /// Every pointer into `value`, with the key of object members.
    fn pointers(value: &Value, prefix: &str, out: &mut Vec<(String, Option<String>)>) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let pointer = format!("{prefix}/{i}");
                    out.push((pointer.clone(), None));
                    pointers(item, &pointer, out);
                }
            }
            Value::Object(members) => {
                for (key, item) in members {
                    let pointer = format!("{prefix}/{}", escape_token(key));
                    out.push((pointer.clone(), Some(key.clone())));
                    pointers(item, &pointer, out);
                }
            }
            _ => {}
        }
    }

    fn arb_token() -> impl Strategy<Value = String> {
        prop_oneof![
            arb_key(),
            prop::sample::select(vec!["0", "1", "2", "5", "-", "01", "nope"])
                .prop_map(String::from),
        ]
    }

    proptest! {
        #[test]
        fn every_pointer_locates_its_value(value in arb_value()) {
            for text in renderings(&value) {
                let parsed: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
                let mut all = vec![(String::new(), None)];
                pointers(&parsed, "", &mut all);
                for (pointer, key) in all {
                    let found = locate(&text, &pointer);
                    prop_assert!(found.is_some(), "{pointer} in {text}");
                    let found = found.unwrap();
                    let got: Value = serde_json::from_str(at(&text, &found.value)).unwrap();
                    prop_assert_eq!(Some(&got), parsed.pointer(&pointer));
                    let got_key = found.key.as_ref().map(|k| serde_json::from_str::<String>(at(&text, k)).unwrap());
                    prop_assert_eq!(got_key, key);
                    let depth = if pointer.is_empty() { 0 } else { pointer.split('/').count() - 1 };
                    prop_assert_eq!(locate_nearest(&text, &pointer), (found, depth));
                }
                prop_assert_eq!(duplicate_keys(&text), []);
            }
        }

        #[test]
        fn arbitrary_pointers_match_serde(value in arb_value(), tokens in prop::collection::vec(arb_token(), 1..5)) {
            let prefix = |n: usize| tokens[..n].iter().map(|t| format!("/{}", escape_token(t))).collect::<String>();
            let pointer = prefix(tokens.len());
            for text in renderings(&value) {
                let parsed: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
                let expected = parsed.pointer(&pointer);
                let found = locate(&text, &pointer);
                prop_assert_eq!(found.is_some(), expected.is_some(), "{} in {}", pointer, text);
                if let Some(found) = &found {
                    let got: Value = serde_json::from_str(at(&text, &found.value)).unwrap();
                    prop_assert_eq!(Some(&got), expected);
                }
                let longest = (0..=tokens.len()).rev().find(|&n| parsed.pointer(&prefix(n)).is_some()).unwrap();
                let (nearest, matched) = locate_nearest(&text, &pointer);
                prop_assert_eq!(matched, longest);
                prop_assert_eq!(Some(nearest), locate(&text, &prefix(longest)));
            }
        }

        #[test]
        fn spliced_duplicates_are_found(
            value in arb_object(),
            pick_object in any::<prop::sample::Index>(),
            pick_key in any::<prop::sample::Index>(),
            pretty in any::<bool>(),
        ) {
            let text = if pretty { serde_json::to_string_pretty(&value).unwrap() } else { serde_json::to_string(&value).unwrap() };
            let mut all = vec![(String::new(), None)];
            pointers(&value, "", &mut all);
            let objects: Vec<&String> = all.iter()
                .map(|(p, _)| p)
                .filter(|p| value.pointer(p).and_then(Value::as_object).is_some_and(|m| !m.is_empty()))
                .collect();
            let object = objects[pick_object.index(objects.len())];
            let members = value.pointer(object).and_then(Value::as_object).unwrap();
            let key = members.keys().nth(pick_key.index(members.len())).unwrap();
            let member = format!("{object}/{}", escape_token(key));

            let open = locate(&text, object).unwrap().value.start;
            let original = locate(&text, &member).unwrap();
            let inserted = format!("{}:1,", serde_json::to_string(key).unwrap());
            let spliced = format!("{}{inserted}{}", &text[..=open], &text[open + 1..]);
            let shift = |s: &Span| s.start + inserted.len()..s.end + inserted.len();

            let dups = duplicate_keys(&spliced);
            let key_len = inserted.len() - 3;
            prop_assert_eq!(dups, vec![DuplicateKey {
                pointer: member.clone(),
                key: key.clone(),
                first: open + 1..open + 1 + key_len,
                duplicate: shift(&original.key.clone().unwrap()),
            }]);
            // The later, original member is the one serde_json keeps, and the one located.
            // Compared with the unspliced text reparsed, since floats need not round-trip exactly.
            let reparsed: Value = serde_json::from_str(&spliced).unwrap();
            prop_assert_eq!(reparsed, serde_json::from_str::<Value>(&text).unwrap());
            let found = locate(&spliced, &member).unwrap();
            prop_assert_eq!(found.value, shift(&original.value));
        }
    }
}
