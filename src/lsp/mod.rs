//! `planguard lsp`: a language server over stdio. It owns the protocol loop
//! (handshake, dispatch, shutdown) and turns check outcomes into published
//! diagnostics and hovers; checking itself is the library's, on the editor's
//! buffers. Nothing but framed protocol messages is written to the output;
//! logs go to stderr and never quote a document.

pub mod convert;
pub mod transport;
pub mod workspace;

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, RegisterCapability, Request as _};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, FileSystemWatcher, GlobPattern, Hover,
    HoverContents, HoverParams, HoverProviderCapability, InitializeParams, InitializeResult,
    MarkupContent, MarkupKind, MessageType, PublishDiagnosticsParams, Registration,
    RegistrationParams, ServerCapabilities, ServerInfo, ShowMessageParams,
    TextDocumentContentChangeEvent, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, TextEdit, Uri, WorkspaceEdit,
};
use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Report};
use crate::source::SourceFile;
use convert::Encoding;
use transport::{Incoming, Writer};
use workspace::{Buffer, Checked, Workspace};

/// Serve one client until it says `exit` or closes the input. Returns the
/// exit status the protocol asks for: 0 after a `shutdown`, 1 otherwise.
/// Fails only when the output cannot be written (the client is gone).
pub fn run(input: impl Read + Send + 'static, output: &mut dyn Write) -> io::Result<u8> {
    let stale = Arc::new(AtomicUsize::new(0));
    let incoming = transport::spawn_reader(input, Arc::clone(&stale))?;
    let mut out = Writer::new(output);
    let Some((id, params)) = handshake(&incoming, &stale, &mut out)? else {
        return Ok(1);
    };
    let encoding = Encoding::negotiate(&params.capabilities);
    let result = InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "planguard".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    out.send(Response::new_ok(id, result))?;
    let watch = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files)
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false);
    let root = root_of(&params);
    log(&match &root {
        Some(root) => format!("workspace {}", root.display()),
        None => "no workspace folder; checking open files only".to_string(),
    });
    let (workspace, problems) = Workspace::load(root);
    let mut server = Server {
        out,
        encoding,
        workspace,
        published: HashMap::new(),
        force: BTreeSet::new(),
        findings: HashMap::new(),
        shown: BTreeSet::new(),
        dirty: true,
        edits_only: false,
        settle_owed: false,
        stale,
        shutdown: false,
    };
    for problem in problems {
        server.show(MessageType::WARNING, &problem)?;
    }
    if watch {
        server.watch_files()?;
    }
    server.serve(&incoming)
}

/// Wait for `initialize`, answering anything else as the protocol says.
fn handshake(
    incoming: &Receiver<Incoming>,
    stale: &AtomicUsize,
    out: &mut Writer<'_>,
) -> io::Result<Option<(RequestId, InitializeParams)>> {
    while let Ok(message) = incoming.recv() {
        if transport::supersedes(&message) {
            stale.fetch_sub(1, Ordering::AcqRel);
        }
        match message {
            Incoming::Invalid { id, code, message } => out.error(id, code, &message)?,
            Incoming::Message(Message::Request(request)) if request.method == "initialize" => {
                match serde_json::from_value(request.params) {
                    Ok(params) => return Ok(Some((request.id, params))),
                    Err(e) => out.error(
                        Some(request.id),
                        ErrorCode::InvalidParams,
                        &format!("invalid initialize parameters: {e}"),
                    )?,
                }
            }
            Incoming::Message(Message::Request(request)) => out.error(
                Some(request.id),
                ErrorCode::ServerNotInitialized,
                "the server is not initialized yet",
            )?,
            Incoming::Message(Message::Notification(n)) if n.method == "exit" => {
                return Ok(None);
            }
            Incoming::Message(_) => {}
        }
    }
    Ok(None)
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

/// The first workspace folder, else the root URI, else the root path.
#[allow(deprecated)]
fn root_of(params: &InitializeParams) -> Option<PathBuf> {
    params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .and_then(|folder| convert::path_of(&folder.uri))
        .or_else(|| params.root_uri.as_ref().and_then(convert::path_of))
        .or_else(|| params.root_path.as_ref().map(PathBuf::from))
        .map(|root| convert::absolute(&root))
}

struct Server<'a> {
    out: Writer<'a>,
    encoding: Encoding,
    workspace: Workspace,
    /// What each file was last sent, so that unchanged lists are not resent
    /// and a list that empties (a cross-file finding fixed elsewhere) is.
    published: HashMap<PathBuf, Vec<lsp_types::Diagnostic>>,
    /// Files to publish to even when unchanged (just opened or edited).
    force: BTreeSet<PathBuf>,
    /// The last check's findings per file, for hovers.
    findings: HashMap<PathBuf, Vec<Diagnostic>>,
    /// Error messages already shown (findings about no file, failed checks).
    shown: BTreeSet<String>,
    /// Something changed since the last check.
    dirty: bool,
    /// Only open buffers were edited since the last check: checking them
    /// (the rest of the workspace as context) answers the edit; the whole
    /// workspace is checked again once the edits pause.
    edits_only: bool,
    /// The last check covered the open buffers only.
    settle_owed: bool,
    /// How many edits (or other messages that make a check's result stale)
    /// are queued, counted by the reader; a check of the whole workspace
    /// stops while there are any, so that the edit is answered at once.
    stale: Arc<AtomicUsize>,
    shutdown: bool,
}

/// What handling a message asks of the loop.
enum Flow {
    Continue,
    Exit(u8),
}

/// How long the edits must pause before the whole workspace is checked
/// after a check of the edited buffers alone.
const SETTLE: Duration = Duration::from_millis(300);

impl Server<'_> {
    fn serve(&mut self, incoming: &Receiver<Incoming>) -> io::Result<u8> {
        loop {
            if self.dirty {
                self.refresh()?;
            }
            // After `shutdown`, nothing is checked again.
            let first = if self.settle_owed && !self.shutdown {
                match incoming.recv_timeout(SETTLE) {
                    Ok(message) => Ok(message),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        // The other files' cross-file findings may have
                        // changed with the edit.
                        self.dirty = true;
                        self.edits_only = false;
                        continue;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(()),
                }
            } else {
                incoming.recv().map_err(|_| ())
            };
            let Ok(first) = first else {
                return Ok(if self.shutdown { 0 } else { 1 });
            };
            // Everything queued while the last check ran is handled before
            // the next one, so a burst of edits costs one check, on the
            // latest text.
            for message in std::iter::once(first).chain(incoming.try_iter()) {
                if transport::supersedes(&message) {
                    self.stale.fetch_sub(1, Ordering::AcqRel);
                }
                if let Flow::Exit(code) = self.handle(message)? {
                    return Ok(code);
                }
            }
        }
    }

    fn handle(&mut self, message: Incoming) -> io::Result<Flow> {
        match message {
            Incoming::Invalid { id, code, message } => {
                log(&format!("bad message: {message}"));
                self.out.error(id, code, &message)?;
            }
            Incoming::Message(Message::Request(request)) => self.request(request)?,
            Incoming::Message(Message::Notification(notification)) => {
                if notification.method == "exit" {
                    return Ok(Flow::Exit(if self.shutdown { 0 } else { 1 }));
                }
                let method = notification.method.clone();
                if let Err(why) = guarded(|| self.notification(notification)) {
                    log(&format!("{method} failed: {why}"));
                }
            }
            // Answers to our own requests (watcher registration): nothing to do.
            Incoming::Message(Message::Response(_)) => {}
        }
        Ok(Flow::Continue)
    }

    fn request(&mut self, request: Request) -> io::Result<()> {
        let id = request.id.clone();
        if self.shutdown {
            return self.out.error(
                Some(id),
                ErrorCode::InvalidRequest,
                "the server is shutting down",
            );
        }
        match request.method.as_str() {
            "shutdown" => {
                self.shutdown = true;
                self.out.send(Response::new_ok(id, ()))
            }
            "initialize" => self.out.error(
                Some(id),
                ErrorCode::InvalidRequest,
                "the server is already initialized",
            ),
            HoverRequest::METHOD => {
                let params: HoverParams = match params(request.params) {
                    Ok(params) => params,
                    Err(e) => return self.out.error(Some(id), ErrorCode::InvalidParams, &e),
                };
                if self.dirty {
                    self.refresh()?;
                }
                match guarded(|| self.hover(&params)) {
                    Ok(hover) => self.out.send(Response::new_ok(id, hover)),
                    Err(why) => self.out.error(Some(id), ErrorCode::InternalError, &why),
                }
            }
            CodeActionRequest::METHOD => {
                let params: CodeActionParams = match params(request.params) {
                    Ok(params) => params,
                    Err(e) => return self.out.error(Some(id), ErrorCode::InvalidParams, &e),
                };
                if self.dirty {
                    self.refresh()?;
                }
                match guarded(|| self.code_actions(&params)) {
                    Ok(actions) => self.out.send(Response::new_ok(id, actions)),
                    Err(why) => self.out.error(Some(id), ErrorCode::InternalError, &why),
                }
            }
            method => self.out.error(
                Some(id),
                ErrorCode::MethodNotFound,
                &format!("planguard does not handle `{method}`"),
            ),
        }
    }

    /// Document and workspace events; anything else is ignored, as the
    /// protocol allows for notifications.
    fn notification(&mut self, notification: Notification) {
        let Notification {
            method,
            params: raw,
        } = notification;
        let parsed = |what: &str, e: String| log(&format!("{what}: ignored, {e}"));
        match method.as_str() {
            DidOpenTextDocument::METHOD => match params::<DidOpenTextDocumentParams>(raw) {
                Ok(p) => self.open(p),
                Err(e) => parsed(&method, e),
            },
            DidChangeTextDocument::METHOD => match params::<DidChangeTextDocumentParams>(raw) {
                Ok(p) => self.change(p),
                Err(e) => parsed(&method, e),
            },
            DidSaveTextDocument::METHOD => match params::<DidSaveTextDocumentParams>(raw) {
                Ok(p) => self.saved(&p.text_document.uri),
                Err(e) => parsed(&method, e),
            },
            DidCloseTextDocument::METHOD => match params::<DidCloseTextDocumentParams>(raw) {
                Ok(p) => self.close(&p.text_document.uri),
                Err(e) => parsed(&method, e),
            },
            DidChangeWatchedFiles::METHOD => match params::<DidChangeWatchedFilesParams>(raw) {
                Ok(p) => {
                    for change in p.changes {
                        self.saved(&change.uri);
                    }
                }
                Err(e) => parsed(&method, e),
            },
            _ => {}
        }
    }

    fn open(&mut self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        let Some(path) = convert::path_of(&document.uri) else {
            log("opened a document that is not a local file: ignored");
            return;
        };
        let file = SourceFile::new(&path, document.text);
        let buffer = Buffer {
            uri: document.uri,
            version: document.version,
            file,
        };
        self.workspace.open(path.clone(), buffer);
        self.force.insert(path);
        self.dirty = true;
    }

    fn change(&mut self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let Some(path) = convert::path_of(&uri).filter(|p| self.workspace.is_open(p)) else {
            log("a change to a document that is not open: ignored");
            return;
        };
        let Some(buffer) = self.workspace.buffer(&path) else {
            return;
        };
        let mut file = buffer.file.clone();
        for change in params.content_changes {
            file = apply(&file, change, self.encoding);
        }
        self.workspace
            .change(&path, params.text_document.version, file);
        // Always answer an edit, so that the client sees which version the
        // diagnostics are for.
        self.force.insert(path);
        if !self.dirty {
            self.edits_only = true;
        }
        self.dirty = true;
    }

    fn saved(&mut self, uri: &Uri) {
        let Some(path) = convert::path_of(uri) else {
            return;
        };
        if self.workspace.reloads_on(&path) {
            log(&format!(
                "{} changed: reloading the settings and policies",
                crate::source::display_path(&path)
            ));
            for problem in self.workspace.reload() {
                log(&problem);
            }
        } else if !self.workspace.is_open(&path) {
            self.workspace.disk_changed(&path);
        }
        self.dirty = true;
    }

    fn close(&mut self, uri: &Uri) {
        if let Some(path) = convert::path_of(uri) {
            self.workspace.close(&path);
            self.dirty = true;
        }
    }

    /// Ask the client to tell us about configs, plans and planguard.toml
    /// changing on disk (a branch switch, a generator run).
    fn watch_files(&mut self) -> io::Result<()> {
        // Configs and plans, and what decides how they are checked: the
        // settings, the policies and their data.
        let watchers = [
            "**/*.json",
            "**/planguard.toml",
            "**/*.rego",
            "**/*.yaml",
            "**/*.yml",
        ]
        .into_iter()
        .map(|glob| FileSystemWatcher {
            glob_pattern: GlobPattern::String(glob.to_string()),
            kind: None,
        })
        .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "planguard-watched-files".to_string(),
                method: DidChangeWatchedFiles::METHOD.to_string(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        self.out.send(Request::new(
            RequestId::from("planguard-register-watchers".to_string()),
            RegisterCapability::METHOD.to_string(),
            params,
        ))
    }

    /// Check the workspace and publish what changed.
    fn refresh(&mut self) -> io::Result<()> {
        self.dirty = false;
        let open_only = std::mem::take(&mut self.edits_only);
        self.settle_owed = open_only;
        // A check of the edited buffers answers the edit and is quick; one
        // of the whole workspace can take seconds in a large repository, and
        // gives way to a newer edit.
        let cancel = (!open_only).then_some(&self.stale);
        let checked = match guarded(|| self.workspace.check(open_only, cancel)) {
            Ok(checked) => checked,
            Err(why) => {
                // Keep the last diagnostics; the next edit tries again. Say
                // so once, not at every keystroke.
                let message = format!(
                    "planguard failed while checking ({why}); diagnostics may be out of date"
                );
                log(&message);
                if self.shown.insert(message.clone()) {
                    self.show(MessageType::ERROR, &message)?;
                }
                return Ok(());
            }
        };
        if checked.interrupted {
            // Tried again once the edits pause; the diagnostics shown stay.
            log("stopped checking the whole workspace for a newer edit");
            self.settle_owed = true;
            return Ok(());
        }
        let Checked {
            diagnostics,
            files,
            stats,
            interrupted: _,
        } = checked;
        log(&format!(
            "checked {} files{}, re-evaluated {}; cross-file rules {}",
            stats.files,
            if open_only {
                " (the open ones, the rest as context)"
            } else {
                ""
            },
            stats.evaluated,
            if stats.cross_file { "ran" } else { "reused" }
        ));
        // Sorted and deduplicated as every report is.
        let diagnostics = Report::new(diagnostics, 0, Duration::ZERO).diagnostics;
        let mut by_file: HashMap<PathBuf, Vec<lsp_types::Diagnostic>> = HashMap::new();
        let mut findings: HashMap<PathBuf, Vec<Diagnostic>> = HashMap::new();
        let mut unlocated = Vec::new();
        for d in diagnostics {
            let Some(location) = &d.location else {
                unlocated.push(format!("{}: {}", d.rule, d.message));
                continue;
            };
            let path = convert::absolute(location.file.path());
            let file = files.get(&path).unwrap_or(&location.file);
            let converted = convert::diagnostic(
                &d,
                file,
                self.encoding,
                |p| self.uri_for(p),
                |p| files.get(p).cloned(),
            );
            by_file.entry(path.clone()).or_default().push(converted);
            findings.entry(path).or_default().push(d);
        }
        // A check of the open buffers says nothing of the other files: their
        // diagnostics stay until the whole workspace is checked again.
        let in_scope = |path: &PathBuf| !open_only || self.workspace.is_open(path);
        if open_only {
            self.findings
                .retain(|path, _| !self.workspace.is_open(path));
            self.findings.extend(findings);
        } else {
            self.findings = findings;
        }
        let paths: BTreeSet<PathBuf> = by_file
            .keys()
            .chain(self.published.keys())
            .chain(self.force.iter())
            .filter(|path| in_scope(path))
            .cloned()
            .collect();
        for path in paths {
            let list = by_file.remove(&path).unwrap_or_default();
            let forced = self.force.remove(&path);
            if !forced && self.published.get(&path) == Some(&list) {
                continue;
            }
            let Some(uri) = self.uri_for(&path) else {
                continue;
            };
            let version = self.workspace.buffer(&path).map(|b| b.version);
            let params = PublishDiagnosticsParams::new(uri, list.clone(), version);
            self.out
                .send(Notification::new(PublishDiagnostics::METHOD.into(), params))?;
            if list.is_empty() {
                self.published.remove(&path);
            } else {
                self.published.insert(path, list);
            }
        }
        for message in unlocated {
            if self.shown.insert(message.clone()) {
                self.show(MessageType::ERROR, &message)?;
            }
        }
        Ok(())
    }

    /// The URI the client knows a file by: its own for open documents.
    fn uri_for(&self, path: &Path) -> Option<Uri> {
        match self.workspace.buffer(path) {
            Some(buffer) => Some(buffer.uri.clone()),
            None => convert::uri_of(path),
        }
    }

    /// The findings under the cursor, each with its rule's documentation.
    fn hover(&self, params: &HoverParams) -> Option<Hover> {
        let at = &params.text_document_position_params;
        let path = convert::path_of(&at.text_document.uri)?;
        let file = &self.workspace.buffer(&path)?.file;
        let offset = self.encoding.offset(file, at.position);
        let here: Vec<&Diagnostic> = self
            .findings
            .get(&path)?
            .iter()
            .filter(|d| {
                d.location.as_ref().is_some_and(|l| {
                    l.span.start <= offset && (offset < l.span.end || offset == l.span.start)
                })
            })
            .collect();
        let first = here.first()?.location.as_ref()?;
        let range = self.encoding.range(file, &first.span);
        let value = here
            .iter()
            .map(|d| explain(d))
            .collect::<Vec<_>>()
            .join("\n\n---\n\n");
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(range),
        })
    }

    /// Quick fixes for the findings in the range: each finding's own fix
    /// (preferred when safe), and for a rule with a code, an edit that
    /// suppresses it in the innermost object around the finding.
    fn code_actions(&self, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let wanted = params.context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|kind| kind.as_str().is_empty() || kind.as_str() == "quickfix")
        });
        let uri = &params.text_document.uri;
        let Some(path) = convert::path_of(uri).filter(|_| wanted) else {
            return Vec::new();
        };
        let (Some(buffer), Some(findings)) =
            (self.workspace.buffer(&path), self.findings.get(&path))
        else {
            return Vec::new();
        };
        let file = &buffer.file;
        let start = self.encoding.offset(file, params.range.start);
        let end = self.encoding.offset(file, params.range.end);
        let action = |title: String, d: &Diagnostic, edits: Vec<TextEdit>, preferred: bool| {
            let diagnostic = convert::diagnostic(
                d,
                file,
                self.encoding,
                |p| self.uri_for(p),
                |p| self.workspace.buffer(p).map(|b| b.file.clone()),
            );
            CodeActionOrCommand::CodeAction(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic]),
                edit: Some(WorkspaceEdit {
                    changes: Some([(uri.clone(), edits)].into_iter().collect()),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: preferred.then_some(true),
                ..CodeAction::default()
            })
        };
        let mut actions = Vec::new();
        for d in findings {
            let Some(location) = &d.location else {
                continue;
            };
            // Findings checked on other text than the buffer's (an edit
            // still on its way) offer nothing.
            let here = location.span.start <= end && start <= location.span.end;
            if !here || !crate::fix::same_but_masked(file.text(), location.file.text()) {
                continue;
            }
            if let Some(fix) = crate::fix::offered(d) {
                let edits = fix
                    .edits
                    .iter()
                    .map(|e| TextEdit::new(self.encoding.range(file, &e.span), e.content.clone()))
                    .collect();
                let title = format!("{} ({})", capitalized(&fix.title), d.rule);
                let safe = fix.applicability == crate::diagnostic::Applicability::Safe;
                actions.push(action(title, d, edits, safe));
            }
            let code = d.rule.as_str();
            let coded = d.rule.builtin().is_some() || !code.contains('.');
            if let Some(edit) = location.pointer.as_deref().filter(|_| coded).and_then(|p| {
                crate::fix::ignore_edit(
                    file.text(),
                    p,
                    code,
                    crate::check::suppress::REASON_PLACEHOLDER,
                )
            }) {
                let edits = vec![TextEdit::new(
                    self.encoding.range(file, &edit.span),
                    edit.content,
                )];
                actions.push(action(
                    format!("Ignore {code} for this object"),
                    d,
                    edits,
                    false,
                ));
            }
        }
        actions
    }

    fn show(&mut self, typ: MessageType, message: &str) -> io::Result<()> {
        log(message);
        let params = ShowMessageParams {
            typ,
            message: message.to_string(),
        };
        self.out
            .send(Notification::new(ShowMessage::METHOD.into(), params))
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A finding for a hover: what is wrong here, then what `planguard explain`
/// prints about its rule.
fn explain(d: &Diagnostic) -> String {
    let mut text = format!("**{}**: {}", d.rule, d.message);
    if let Some(help) = &d.help {
        text.push_str(&format!("\n\nhelp: {help}"));
    }
    match d.rule.builtin() {
        Some(rule) => {
            text.push_str("\n\n");
            text.push_str(rule.doc);
        }
        None => {
            if let Some(url) = &d.url {
                text.push_str(&format!("\n\nsee: {url}"));
            }
        }
    }
    text
}

/// One content change: the whole text, or a range of the previous text.
fn apply(
    file: &SourceFile,
    change: TextDocumentContentChangeEvent,
    encoding: Encoding,
) -> SourceFile {
    match change.range {
        None => SourceFile::new(file.path(), change.text),
        Some(range) => {
            let start = encoding.offset(file, range.start);
            let end = encoding.offset(file, range.end).max(start);
            let mut text = String::with_capacity(file.text().len() + change.text.len());
            text.push_str(&file.text()[..start]);
            text.push_str(&change.text);
            text.push_str(&file.text()[end..]);
            SourceFile::new(file.path(), text)
        }
    }
}

fn params<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid parameters: {e}"))
}

/// Run `f`, turning a panic into an error so that a bug met by one buffer
/// does not end the session.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        format!("internal error: {what}")
    })
}

/// A line on stderr, which editors keep as the server's log.
fn log(message: &str) {
    let _ = writeln!(io::stderr().lock(), "planguard lsp: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    #[test]
    fn a_panic_becomes_an_error() {
        let result: Result<(), String> = guarded(|| panic!("boom"));
        assert_eq!(result, Err("internal error: boom".to_string()));
    }

    #[test]
    fn ranged_changes_apply_in_the_negotiated_encoding() {
        let file = SourceFile::new("a.json", "{\"😀\": 1}");
        let change = |character| TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(0, character),
                Position::new(0, character + 1),
            )),
            range_length: None,
            text: "2".to_string(),
        };
        assert_eq!(
            apply(&file, change(7), Encoding::Utf16).text(),
            "{\"😀\": 2}"
        );
        assert_eq!(
            apply(&file, change(9), Encoding::Utf8).text(),
            "{\"😀\": 2}"
        );
    }
}
