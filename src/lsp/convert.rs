//! Conversions between planguard's values and the protocol's: byte spans ↔
//! positions in the negotiated encoding, diagnostics, file paths ↔ URIs.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{
    ClientCapabilities, CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity,
    Location, NumberOrString, Position, PositionEncodingKind, Range, Uri,
};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};

/// What a position's `character` counts: UTF-16 code units unless the
/// client offers UTF-8 (our own offsets are bytes, so it costs nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    pub fn negotiate(capabilities: &ClientCapabilities) -> Self {
        let offered = capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref());
        match offered {
            Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }

    pub fn position(self, file: &SourceFile, offset: usize) -> Position {
        let (line, character) = match self {
            Encoding::Utf8 => file.line_col_utf8(offset),
            Encoding::Utf16 => file.line_col_utf16(offset),
        };
        Position::new(saturate(line), saturate(character))
    }

    /// The byte offset of a position; positions past a line's end or the
    /// text's end clamp to it, as the protocol asks.
    pub fn offset(self, file: &SourceFile, position: Position) -> usize {
        let (line, character) = (position.line as usize, position.character as usize);
        match self {
            Encoding::Utf8 => file.offset_of_utf8(line, character),
            Encoding::Utf16 => file.offset_of_utf16(line, character),
        }
    }

    pub fn range(self, file: &SourceFile, span: &Span) -> Range {
        Range::new(
            self.position(file, span.start),
            self.position(file, span.end),
        )
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// One located diagnostic as the protocol carries it. `file` is the text
/// the span points into: the unredacted text, so that a masked secret
/// (whose `*`s may be more UTF-16 units than the characters they hide) does
/// not shift the columns after it. `uri_of` names related locations.
pub fn diagnostic(
    d: &Diagnostic,
    file: &SourceFile,
    encoding: Encoding,
    uri_of: impl Fn(&Path) -> Option<Uri>,
    file_of: impl Fn(&Path) -> Option<SourceFile>,
) -> lsp_types::Diagnostic {
    let range = d
        .location
        .as_ref()
        .map(|l| encoding.range(file, &l.span))
        .unwrap_or_default();
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            let path = absolute(r.location.file.path());
            let uri = uri_of(&path)?;
            let file = file_of(&path).unwrap_or_else(|| r.location.file.clone());
            Some(DiagnosticRelatedInformation {
                location: Location::new(uri, encoding.range(&file, &r.location.span)),
                message: r.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.rule.to_string())),
        code_description: d
            .url
            .as_deref()
            .and_then(|url| Uri::from_str(url).ok())
            .map(|href| CodeDescription { href }),
        source: Some("planguard".to_string()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// A path as the server keys files: absolute, as discovery and URIs give them.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The local file a `file:` URI names; None for other schemes and remote hosts.
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let (scheme, rest) = text.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let slash = after.find('/')?;
            let host = &after[..slash];
            if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                return None;
            }
            &after[slash..]
        }
        None => rest,
    };
    let decoded = percent_decode(path)?;
    // `file:///C:/x` names `C:/x` on Windows.
    let decoded = match decoded.as_bytes() {
        [b'/', drive, b':', ..] if cfg!(windows) && drive.is_ascii_alphabetic() => {
            decoded[1..].to_string()
        }
        _ => decoded,
    };
    Some(PathBuf::from(decoded))
}

/// The `file:` URI of an absolute path, every byte but the unreserved ones
/// and `/` percent-encoded.
pub fn uri_of(path: &Path) -> Option<Uri> {
    let path = absolute(path);
    let text = path.to_str()?.replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&uri).ok()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        Uri::from_str(text).expect("a valid URI")
    }

    #[cfg(unix)]
    #[test]
    fn file_uris_round_trip_through_paths_with_spaces_and_non_ascii() {
        let path = Path::new("/tmp/my repo/conf/dév.json");
        let uri = uri_of(path).expect("a URI");
        assert_eq!(uri.as_str(), "file:///tmp/my%20repo/conf/d%C3%A9v.json");
        assert_eq!(path_of(&uri).as_deref(), Some(path));
        assert_eq!(
            path_of(&super::tests::uri("file://localhost/a/b.json")).as_deref(),
            Some(Path::new("/a/b.json"))
        );
    }

    #[test]
    fn other_schemes_and_hosts_are_not_files() {
        assert_eq!(path_of(&uri("untitled:Untitled-1")), None);
        assert_eq!(path_of(&uri("file://server/share/a.json")), None);
        assert_eq!(path_of(&uri("file:///a/%FF.json")), None);
    }

    #[test]
    fn positions_follow_the_negotiated_encoding() {
        let file = SourceFile::new("a.json", "{\"😀\": \"x\"}");
        let offset = file.text().find("\"x\"").expect("present");
        assert_eq!(Encoding::Utf16.position(&file, offset), Position::new(0, 7));
        assert_eq!(Encoding::Utf8.position(&file, offset), Position::new(0, 9));
        for encoding in [Encoding::Utf8, Encoding::Utf16] {
            let position = encoding.position(&file, offset);
            assert_eq!(encoding.offset(&file, position), offset);
        }
    }
}
