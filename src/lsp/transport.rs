//! The wire: Content-Length framed JSON-RPC over a byte stream. Unlike
//! lsp-server's stdio transport, which stops reading at the first malformed
//! message, a bad frame here becomes a JSON-RPC error for the client and the
//! stream goes on.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};

use lsp_server::{ErrorCode, Message, RequestId};
use serde_json::{Value, json};

/// Larger messages are skipped unread. The documents inside are bounded by
/// `files.max-file-size` (64 MiB by default), checked after reading; this
/// bound only keeps a lying Content-Length from exhausting memory.
pub const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// Header lines are short; one longer than this is garbage.
const MAX_HEADER_LINE: u64 = 8 * 1024;

/// What the reader hands the server.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// A frame that is not a JSON-RPC message: answer with this error, under
    /// the request's id when one could be read, else `null`.
    Invalid {
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
}

/// Read messages on a thread of their own, so that the server can see what
/// is queued (and skip superseded edits) while it checks. Each message that
/// makes a running check's result stale is counted in `stale` before it is
/// queued; the server takes it off the count when it handles it. The channel
/// closes at the end of the input.
pub fn spawn_reader(
    input: impl Read + Send + 'static,
    stale: Arc<AtomicUsize>,
) -> io::Result<Receiver<Incoming>> {
    let (sender, receiver) = channel();
    std::thread::Builder::new()
        .name("planguard-lsp-reader".to_string())
        .spawn(move || {
            let mut input = BufReader::new(input);
            loop {
                let incoming = match read_frame(&mut input) {
                    Ok(Some(Frame::Body(body))) => decode(&body),
                    Ok(Some(Frame::Bad(message))) => Incoming::Invalid {
                        id: None,
                        code: ErrorCode::ParseError,
                        message,
                    },
                    Ok(None) | Err(_) => return,
                };
                if supersedes(&incoming) {
                    stale.fetch_add(1, Ordering::AcqRel);
                }
                if sender.send(incoming).is_err() {
                    return;
                }
            }
        })?;
    Ok(receiver)
}

/// Whether `incoming` changes what a check would find (a document opened,
/// edited, saved or closed, files changed on disk) or ends the session.
/// Other requests (hovers, code actions) wait for the check: a client that
/// sends them steadily must not keep the workspace from being checked.
pub fn supersedes(incoming: &Incoming) -> bool {
    match incoming {
        Incoming::Message(Message::Notification(n)) => {
            n.method.starts_with("textDocument/did")
                || n.method == "workspace/didChangeWatchedFiles"
                || n.method == "exit"
        }
        Incoming::Message(Message::Request(r)) => r.method == "shutdown",
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Frame {
    Body(Vec<u8>),
    /// Headers that frame nothing readable; the reason.
    Bad(String),
}

/// One frame: headers up to a blank line, then Content-Length bytes. None at
/// the end of the input.
fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut problem = None;
    let mut headers = 0;
    loop {
        let mut line = Vec::new();
        if input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)?
            == 0
        {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            // Skip the rest of the over-long line without holding it.
            skip_line(input)?;
            problem = Some("a header line is too long".to_string());
            headers += 1;
            continue;
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if headers == 0 {
                // Stray blank lines between messages are harmless.
                continue;
            }
            break;
        }
        headers += 1;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse() {
                    Ok(n) => length = Some(n),
                    Err(_) => problem = Some("the Content-Length header is not a number".into()),
                }
            }
            Some(_) => {}
            None => problem = Some("a header line is not `Name: value`".to_string()),
        }
    }
    match length {
        None => Ok(Some(Frame::Bad(problem.unwrap_or_else(|| {
            "the message has no Content-Length header".to_string()
        })))),
        Some(n) if n > MAX_MESSAGE => {
            io::copy(&mut input.by_ref().take(n as u64), &mut io::sink())?;
            Ok(Some(Frame::Bad(format!(
                "the message is {n} bytes, more than the {MAX_MESSAGE}-byte limit; it was skipped"
            ))))
        }
        Some(n) => {
            let mut body = vec![0; n];
            match input.read_exact(&mut body) {
                Ok(()) => Ok(Some(Frame::Body(body))),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

fn skip_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|b| *b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buffer.len();
                input.consume(n);
            }
        }
    }
}

/// A frame's body as a message. The error never quotes the body: it may be
/// a document holding secrets.
fn decode(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Incoming::Invalid {
                id: None,
                code: ErrorCode::ParseError,
                message: format!("the message is not JSON: {e}"),
            };
        }
    };
    let id = value
        .get("id")
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Incoming::Message(message),
        Err(_) => Incoming::Invalid {
            id,
            code: ErrorCode::InvalidRequest,
            message: "not a JSON-RPC request, response or notification".to_string(),
        },
    }
}

/// Writes framed messages; the only writer of the protocol stream.
pub struct Writer<'a> {
    out: &'a mut dyn Write,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        Self { out }
    }

    pub fn send(&mut self, message: impl Into<Message>) -> io::Result<()> {
        message.into().write(&mut self.out)
    }

    /// An error response; `id` is `null` when the request's id is unknown,
    /// which lsp-server's `Response` cannot express.
    pub fn error(
        &mut self,
        id: Option<RequestId>,
        code: ErrorCode,
        message: &str,
    ) -> io::Result<()> {
        let body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code as i32, "message": message},
        })
        .to_string();
        write!(self.out, "Content-Length: {}\r\n\r\n", body.len())?;
        self.out.write_all(body.as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut input = io::Cursor::new(input.to_vec());
        let mut out = Vec::new();
        while let Some(frame) = read_frame(&mut input).expect("reads") {
            out.push(frame);
        }
        out
    }

    #[test]
    fn frames_survive_bad_headers_and_lying_lengths() {
        let mut input = Vec::new();
        input.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
        input.extend_from_slice(b"garbage\r\n\r\n");
        input.extend_from_slice(b"Content-Type: x\r\n\r\n");
        input.extend_from_slice(b"Content-Length: nine\r\n\r\n");
        input.extend_from_slice(b"\r\nContent-Length: 4\nX: y\n\n[1] ");
        input.extend_from_slice(b"Content-Length: 99\r\n\r\n{}");
        let found = frames(&input);
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(found[0], Frame::Body(b"{}".to_vec()));
        assert!(matches!(&found[1], Frame::Bad(m) if m.contains("Name: value")));
        assert!(matches!(&found[2], Frame::Bad(m) if m.contains("no Content-Length")));
        assert!(matches!(&found[3], Frame::Bad(m) if m.contains("not a number")));
        assert_eq!(found[4], Frame::Body(b"[1] ".to_vec()));
    }

    /// Edits, opens, saves, closes, file changes and shutdown are counted
    /// as they are queued; hovers, code actions and cancellations are not,
    /// and wait for the check.
    #[test]
    fn the_reader_counts_what_makes_a_check_stale_before_queueing_it() {
        let framed = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let bodies = [
            r#"{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {}}"#,
            r#"{"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {}}"#,
            r#"{"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {}}"#,
            r#"{"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {}}"#,
            r#"{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}}"#,
            r#"{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}"#,
        ];
        let input: String = bodies.iter().map(|b| framed(b)).collect();
        let stale = Arc::new(AtomicUsize::new(0));
        let incoming = spawn_reader(std::io::Cursor::new(input.into_bytes()), Arc::clone(&stale))
            .expect("reader");
        let queued: Vec<Incoming> = incoming.iter().collect();
        // Counted by the reader: the change, the file change, the shutdown.
        assert_eq!(stale.load(Ordering::Acquire), 3);
        let counted: Vec<bool> = queued.iter().map(supersedes).collect();
        assert_eq!(counted, [true, false, true, false, false, true]);
    }

    #[test]
    fn an_over_long_header_line_is_skipped_not_buffered() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\r\n\r\nContent-Length: 2\r\n\r\n{}");
        let found = frames(&input);
        assert!(matches!(&found[0], Frame::Bad(m) if m.contains("too long")));
        assert_eq!(found[1], Frame::Body(b"{}".to_vec()));
    }

    #[test]
    fn bodies_that_are_not_messages_keep_their_id_when_they_have_one() {
        assert!(matches!(
            decode(b"{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": 3}"),
            Incoming::Invalid { id: Some(id), code: ErrorCode::InvalidRequest, .. } if id == RequestId::from(7)
        ));
        let secret = "hunter2";
        match decode(format!("{{\"password\": \"{secret}\"").as_bytes()) {
            Incoming::Invalid {
                id: None,
                code: ErrorCode::ParseError,
                message,
            } => assert!(!message.contains(secret), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_responses_can_have_a_null_id() {
        let mut out = Vec::new();
        Writer::new(&mut out)
            .error(None, ErrorCode::ParseError, "bad")
            .expect("writes");
        let text = String::from_utf8(out).expect("UTF-8");
        let (header, body) = text.split_once("\r\n\r\n").expect("framed");
        assert_eq!(header, format!("Content-Length: {}", body.len()));
        let value: Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(value["id"], Value::Null);
        assert_eq!(value["error"]["code"], -32700);
    }
}
