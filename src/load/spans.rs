//! TEMPORARY stub, replaced by the real resolver.
pub type Span = std::ops::Range<usize>;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located { pub key: Option<Span>, pub value: Span }
pub fn locate(_text: &str, _pointer: &str) -> Option<Located> { None }
pub fn locate_nearest(text: &str, _pointer: &str) -> (Located, usize) { (Located { key: None, value: 0..text.len() }, 0) }
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey { pub pointer: String, pub key: String, pub first: Span, pub duplicate: Span }
pub fn duplicate_keys(_text: &str) -> Vec<DuplicateKey> { Vec::new() }
pub fn escape_token(token: &str) -> String { token.replace('~', "~0").replace('/', "~1") }
