//! The Temporal frontend, through the raw WorkflowService: describe, create,
//! update (with the conflict token) and start. Blocking calls over a
//! single-threaded runtime; every failure becomes one clear line. A failed
//! call's gRPC status is read once, here, into a [`Failure`]; nothing else in
//! planguard looks at a status code or an error's text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::gate::Cleared;
use temporalio_client::errors::ClientConnectError;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::tonic::{Code, IntoRequest, Status};
use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::common::v1::{Memo, WorkflowType};
use temporalio_common::protos::temporal::api::enums::v1::{
    HistoryEventFilterType, TaskQueueType, WorkflowExecutionStatus,
};
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::schedule::v1::{Schedule, ScheduleInfo};
use temporalio_common::protos::temporal::api::taskqueue::v1::{PollerInfo, TaskQueue};
use temporalio_common::protos::temporal::api::workflow::v1::WorkflowExecutionInfo;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CreateScheduleRequest, DescribeScheduleRequest, DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest, GetWorkflowExecutionHistoryRequest, ListSchedulesRequest,
    StartWorkflowExecutionRequest, UpdateScheduleRequest,
};

/// How to reach the frontend (src/apply/connect.rs decides it).
#[derive(Clone, Default)]
pub struct Endpoint {
    /// host:port
    pub address: String,
    pub api_key: Option<String>,
    /// TLS, when the server wants it (always with an API key).
    pub tls: Option<Tls>,
}

/// The API key is never shown, not even in a debug dump: only whether there is one.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field("tls", &self.tls)
            .finish()
    }
}

/// A PEM file, or its text (a Temporal CLI profile may hold either).
#[derive(Clone)]
pub enum Pem {
    Path(std::path::PathBuf),
    Data(Vec<u8>),
}

/// A key's text is never shown, not even in a debug dump.
impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pem::Path(path) => f.debug_tuple("Path").field(path).finish(),
            Pem::Data(_) => f.write_str("Data(…)"),
        }
    }
}

impl Pem {
    fn read(&self, what: &str) -> Result<Vec<u8>, TemporalError> {
        match self {
            Pem::Path(path) => std::fs::read(path).map_err(|e| {
                TemporalError::Tls(format!("cannot read the {what} {}: {e}", path.display()))
            }),
            Pem::Data(data) => Ok(data.clone()),
        }
    }
}

/// TLS settings: PEM files (or their text) and the name to verify.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    pub client_cert: Option<Pem>,
    pub client_key: Option<Pem>,
    pub server_ca: Option<Pem>,
    pub server_name: Option<String>,
}

impl Tls {
    fn options(&self) -> Result<temporalio_client::TlsOptions, TemporalError> {
        let client_tls_options = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(
                temporalio_client::ClientTlsOptions::builder()
                    .client_cert(cert.read("client certificate")?)
                    .client_private_key(key.read("client key")?)
                    .build(),
            ),
            (None, None) => None,
            _ => {
                return Err(TemporalError::Tls(
                    "mTLS needs both a client certificate and its key (--tls-cert and --tls-key, or tls-cert and tls-key in planguard.toml)".to_string(),
                ));
            }
        };
        let server_ca = self
            .server_ca
            .as_ref()
            .map(|p| p.read("server CA certificate"))
            .transpose()?;
        Ok(temporalio_client::TlsOptions::builder()
            .maybe_server_root_ca_cert(server_ca)
            .maybe_domain(self.server_name.clone())
            .maybe_client_tls_options(client_tls_options)
            .build())
    }
}

/// What a failed call's gRPC status says, classified once by its code (and,
/// for a missing namespace, by the failure detail Temporal attaches to the
/// status), each with the server's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The frontend cannot take calls now.
    Unavailable(String),
    /// No such schedule or workflow run; `namespace` when it is the namespace
    /// that is missing (the server says so in a `NamespaceNotFoundFailure`).
    NotFound {
        message: String,
        namespace: Option<String>,
    },
    /// A create whose id is taken.
    AlreadyExists(String),
    /// Permission denied, or no valid credentials (unauthenticated).
    Denied(String),
    /// The call's precondition no longer holds (a stale conflict token, a
    /// closed schedule).
    FailedPrecondition(String),
    /// The server refuses what was sent.
    InvalidArgument(String),
    /// The call took longer than its deadline.
    DeadlineExceeded(String),
    /// The schedule's workflow has not taken its first task yet (a
    /// `WorkflowNotReadyFailure`): a busy server right after a create.
    NotReady(String),
    /// The server sheds load for now.
    ResourceExhausted(String),
    /// Any other code.
    Other { code: Code, message: String },
}

/// The type of the status detail the server attaches when a namespace does
/// not exist.
const NAMESPACE_NOT_FOUND: &str = "temporal.api.errordetails.v1.NamespaceNotFoundFailure";

/// The type of the detail of a workflow (a schedule's, on the
/// workflow-backed scheduler) that cannot answer a query yet.
const WORKFLOW_NOT_READY: &str = "temporal.api.errordetails.v1.WorkflowNotReadyFailure";

impl Failure {
    /// The one place a gRPC status is classified.
    pub fn of(status: &Status) -> Self {
        let message = first_line(status.message());
        match status.code() {
            Code::Unavailable => Failure::Unavailable(message),
            Code::NotFound => Failure::NotFound {
                message,
                namespace: missing_namespace(status.details()),
            },
            Code::AlreadyExists => Failure::AlreadyExists(message),
            Code::PermissionDenied | Code::Unauthenticated => Failure::Denied(message),
            Code::FailedPrecondition if has_detail(status.details(), WORKFLOW_NOT_READY) => {
                Failure::NotReady(message)
            }
            Code::FailedPrecondition => Failure::FailedPrecondition(message),
            Code::ResourceExhausted => Failure::ResourceExhausted(message),
            Code::InvalidArgument => Failure::InvalidArgument(message),
            Code::DeadlineExceeded => Failure::DeadlineExceeded(message),
            code => Failure::Other { code, message },
        }
    }

    /// The server's message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Unavailable(m)
            | Failure::AlreadyExists(m)
            | Failure::Denied(m)
            | Failure::FailedPrecondition(m)
            | Failure::InvalidArgument(m)
            | Failure::DeadlineExceeded(m)
            | Failure::NotReady(m)
            | Failure::ResourceExhausted(m)
            | Failure::NotFound { message: m, .. }
            | Failure::Other { message: m, .. } => m,
        }
    }
}

/// The namespace a status's details say does not exist: the first detail
/// of type `NamespaceNotFoundFailure` in its `google.rpc.Status`.
fn missing_namespace(details: &[u8]) -> Option<String> {
    use prost::Message;
    use temporalio_common::protos::temporal::api::errordetails::v1::NamespaceNotFoundFailure;
    let detail = detail(details, NAMESPACE_NOT_FOUND)?;
    NamespaceNotFoundFailure::decode(detail.as_slice())
        .ok()
        .map(|f| f.namespace)
}

/// The encoded detail of this type a status carries.
fn detail(details: &[u8], type_name: &str) -> Option<Vec<u8>> {
    use prost::Message;
    use temporalio_common::protos::google::rpc::Status as RpcStatus;
    RpcStatus::decode(details)
        .ok()?
        .details
        .into_iter()
        .find(|d| d.type_url.rsplit('/').next() == Some(type_name))
        .map(|d| d.value)
}

fn has_detail(details: &[u8], type_name: &str) -> bool {
    detail(details, type_name).is_some()
}

/// Whether a read is worth asking again shortly: what a busy or restarting
/// server answers and soon stops answering (the SDKs' clients retry these
/// too). A missing schedule, a refusal or a bad request is an answer.
fn transient(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Unavailable(_)
            | Failure::DeadlineExceeded(_)
            | Failure::NotReady(_)
            | Failure::ResourceExhausted(_)
    )
}

/// The pauses between the attempts of a read: four attempts over about
/// three seconds.
const READ_RETRY_PAUSES: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(750),
    Duration::from_millis(2000),
];

#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    #[error("cannot reach the Temporal server at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("namespace `{0}` does not exist on the Temporal server")]
    NamespaceMissing(String),
    #[error("the Temporal server refused the request (permission denied): {0}")]
    PermissionDenied(String),
    #[error("the Temporal server rejected the schedule: {0}")]
    Rejected(String),
    #[error("Temporal call failed ({code:?}): {message}")]
    Other { code: Code, message: String },
    /// A write the server refused because the schedule changed since it was
    /// described (a stale conflict token), or was created meanwhile.
    #[error("the schedule was changed concurrently: {0}")]
    Conflict(String),
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    /// The Temporal CLI profile named (or the file) cannot be used.
    #[error("Temporal CLI configuration ({file}): {reason}")]
    Profile { file: String, reason: String },
    /// An environment that requires auth, and nothing but plain text to reach it.
    #[error(
        "refused: {environment} requires auth (require-auth), and the connection to {address} would be plaintext{unset}; give it TLS (--tls, tls-ca/tls-cert/tls-key or tls = true in [environments.{environment}]) or an API key (api-key-env), or pass --insecure for a local server"
    )]
    PlaintextRefused {
        environment: String,
        address: String,
        unset: String,
    },
}

/// The newest run a started run led to, and its close event once it ended.
#[derive(Debug, Clone)]
pub struct RunState {
    pub run_id: String,
    pub info: WorkflowExecutionInfo,
    pub close: Option<HistoryEvent>,
}

/// A deployed schedule as described by the server.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub schedule: Schedule,
    pub conflict_token: Vec<u8>,
    /// What the scheduler did and will do: recent and running actions, next times, counters.
    pub info: Option<ScheduleInfo>,
}

pub struct Client {
    runtime: tokio::runtime::Runtime,
    service: Box<dyn WorkflowService>,
    namespace: String,
    address: String,
}

/// A fresh id for each request: the server deduplicates by request id, and a
/// reused one after a delete creates nothing.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "planguard-{nanos:x}-{:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Client {
    pub fn connect(endpoint: &Endpoint, namespace: &str) -> Result<Self, TemporalError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(TemporalError::Runtime)?;
        let unreachable = |reason: String| TemporalError::Unreachable {
            address: endpoint.address.clone(),
            reason,
        };
        // A bearer token never travels in plain text: an API key turns TLS on,
        // as the temporal CLI does (connect::endpoint does already; this
        // holds for any Endpoint).
        let tls = match (&endpoint.tls, &endpoint.api_key) {
            (Some(tls), _) => Some(tls.options()?),
            (None, Some(_)) => Some(Tls::default().options()?),
            (None, None) => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", endpoint.address)
            .parse::<temporalio_client::Url>()
            .map_err(|e| unreachable(format!("invalid address: {e}")))?;
        // A name that does not resolve is said as such, before any connection.
        if url.socket_addrs(|| None).is_err() {
            return Err(unreachable("the host name does not resolve".to_string()));
        }
        let options = ConnectionOptions::new(url)
            .identity(format!("planguard@{}", std::process::id()))
            .connect_timeout(Duration::from_secs(5))
            .maybe_api_key(endpoint.api_key.clone())
            .maybe_tls_options(tls.clone())
            .build();
        let connection = runtime
            .block_on(Connection::connect(options))
            .map_err(|e| connect_failure(&e, tls.is_some(), &endpoint.address))?;
        Ok(Self {
            service: connection.workflow_service(),
            runtime,
            namespace: namespace.to_string(),
            address: endpoint.address.clone(),
        })
    }

    /// A failed call as the error planguard reports.
    fn error(&self, failure: Failure) -> TemporalError {
        match failure {
            Failure::NotFound {
                namespace: Some(_), ..
            } => TemporalError::NamespaceMissing(self.namespace.clone()),
            Failure::Unavailable(reason) | Failure::DeadlineExceeded(reason) => {
                TemporalError::Unreachable {
                    address: self.address.clone(),
                    reason,
                }
            }
            Failure::Denied(message) => TemporalError::PermissionDenied(message),
            Failure::InvalidArgument(message) | Failure::FailedPrecondition(message) => {
                TemporalError::Rejected(message)
            }
            Failure::AlreadyExists(message) => TemporalError::Other {
                code: Code::AlreadyExists,
                message,
            },
            Failure::NotFound { message, .. } => TemporalError::Other {
                code: Code::NotFound,
                message,
            },
            Failure::NotReady(message) => TemporalError::Other {
                code: Code::FailedPrecondition,
                message,
            },
            Failure::ResourceExhausted(message) => TemporalError::Other {
                code: Code::ResourceExhausted,
                message,
            },
            Failure::Other { code, message } => TemporalError::Other { code, message },
        }
    }

    /// The schedule, or None when there is none by that id.
    pub fn describe(&mut self, schedule_id: &str) -> Result<Option<Deployed>, TemporalError> {
        let request = DescribeScheduleRequest {
            namespace: self.namespace.clone(),
            schedule_id: schedule_id.to_string(),
        };
        let mut pauses = READ_RETRY_PAUSES.iter();
        let answer = loop {
            let answer = self.runtime.block_on(
                self.service
                    .describe_schedule(request.clone().into_request()),
            );
            match (&answer, pauses.next()) {
                (Err(status), Some(pause)) if transient(&Failure::of(status)) => {
                    std::thread::sleep(*pause);
                }
                _ => break answer,
            }
        };
        match answer {
            Ok(response) => {
                let response = response.into_inner();
                Ok(Some(Deployed {
                    schedule: response.schedule.unwrap_or_default(),
                    conflict_token: response.conflict_token,
                    info: response.info,
                }))
            }
            Err(status) => match Failure::of(&status) {
                Failure::NotFound {
                    namespace: None, ..
                } => Ok(None),
                failure => Err(self.error(failure)),
            },
        }
    }

    /// Register a cleared plan's schedule (only the gate makes a `Cleared`).
    /// An id taken meanwhile (by a concurrent apply) is a conflict.
    pub fn create(&mut self, cleared: &Cleared) -> Result<(), TemporalError> {
        let memo = Memo {
            fields: std::collections::HashMap::from([(
                "managed_by".to_string(),
                super::model::json_payload(&serde_json::json!("planguard")),
            )]),
        };
        let request = CreateScheduleRequest {
            namespace: self.namespace.clone(),
            schedule_id: cleared.desired().schedule_id.clone(),
            schedule: Some(cleared.desired().schedule.clone()),
            identity: format!("planguard@{}", std::process::id()),
            request_id: request_id(),
            memo: Some(memo),
            ..Default::default()
        };
        self.runtime
            .block_on(self.service.create_schedule(request.into_request()))
            .map(|_| ())
            .map_err(|status| match Failure::of(&status) {
                Failure::AlreadyExists(message) => TemporalError::Conflict(message),
                failure => self.error(failure),
            })
    }

    /// Replace a deployed schedule with a cleared plan's, conditional on the
    /// conflict token of `deployed`. An update replaces the whole state, so
    /// the operator's pause and notes are carried over unless `unpause`. A
    /// failed precondition is a conflict: the newer scheduler refuses a stale
    /// conflict token (or a schedule closed meanwhile) outright.
    pub fn update(
        &mut self,
        cleared: &Cleared,
        deployed: &Deployed,
        unpause: bool,
    ) -> Result<(), TemporalError> {
        let mut schedule = cleared.desired().schedule.clone();
        if !unpause {
            schedule.state = deployed.schedule.state.clone();
        }
        let conflict_token = deployed.conflict_token.clone();
        let request = UpdateScheduleRequest {
            namespace: self.namespace.clone(),
            schedule_id: cleared.desired().schedule_id.clone(),
            schedule: Some(schedule),
            conflict_token,
            identity: format!("planguard@{}", std::process::id()),
            request_id: request_id(),
            ..Default::default()
        };
        self.runtime
            .block_on(self.service.update_schedule(request.into_request()))
            .map(|_| ())
            .map_err(|status| match Failure::of(&status) {
                Failure::FailedPrecondition(message) => TemporalError::Conflict(message),
                failure => self.error(failure),
            })
    }

    /// Every schedule id in the namespace.
    pub fn list(&mut self) -> Result<Vec<String>, TemporalError> {
        let mut ids = Vec::new();
        let mut page = Vec::new();
        loop {
            let request = ListSchedulesRequest {
                namespace: self.namespace.clone(),
                maximum_page_size: 1000,
                next_page_token: page,
                ..Default::default()
            };
            let response = self
                .runtime
                .block_on(self.service.list_schedules(request.into_request()))
                .map_err(|status| self.error(Failure::of(&status)))?
                .into_inner();
            ids.extend(response.schedules.into_iter().map(|s| s.schedule_id));
            if response.next_page_token.is_empty() {
                return Ok(ids);
            }
            page = response.next_page_token;
        }
    }

    /// One run of a workflow, or None when the server no longer knows it
    /// (past retention).
    fn describe_run(
        &mut self,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<Option<WorkflowExecutionInfo>, TemporalError> {
        let request = DescribeWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.to_string(),
                run_id: run_id.to_string(),
            }),
        };
        match self.runtime.block_on(
            self.service
                .describe_workflow_execution(request.into_request()),
        ) {
            Ok(response) => Ok(response.into_inner().workflow_execution_info),
            Err(status) => match Failure::of(&status) {
                Failure::NotFound {
                    namespace: None, ..
                } => Ok(None),
                failure => Err(self.error(failure)),
            },
        }
    }

    /// The run that a started run led to: its retries, continue-as-new and
    /// cron runs followed from `run_id` to the newest, which tells how the
    /// workflow went (with its close event when it has ended). Followed run
    /// by run, never looked up by the workflow id alone: a schedule gives
    /// the actions of one second the same id. None when the server no
    /// longer knows the run (past retention).
    pub fn newest_run(
        &mut self,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<Option<RunState>, TemporalError> {
        let mut run_id = run_id.to_string();
        // A retry policy's attempts, at most: far more than any plan allows.
        for _ in 0..1000 {
            let Some(info) = self.describe_run(workflow_id, &run_id)? else {
                return Ok(None);
            };
            if matches!(
                info.status(),
                WorkflowExecutionStatus::Running | WorkflowExecutionStatus::Unspecified
            ) {
                return Ok(Some(RunState {
                    run_id,
                    info,
                    close: None,
                }));
            }
            let close = self.history_event(workflow_id, &run_id, true)?;
            match close.as_ref().and_then(next_run) {
                Some(next) => run_id = next,
                None => {
                    return Ok(Some(RunState {
                        run_id,
                        info,
                        close,
                    }));
                }
            }
        }
        Err(TemporalError::Other {
            code: Code::OutOfRange,
            message: format!("workflow {workflow_id} went through more than 1000 runs"),
        })
    }

    /// The first event of a run's history, or its close event (`close`);
    /// None when the run is gone or, for `close`, still open.
    pub fn history_event(
        &mut self,
        workflow_id: &str,
        run_id: &str,
        close: bool,
    ) -> Result<Option<HistoryEvent>, TemporalError> {
        let filter = if close {
            HistoryEventFilterType::CloseEvent
        } else {
            HistoryEventFilterType::AllEvent
        };
        let request = GetWorkflowExecutionHistoryRequest {
            namespace: self.namespace.clone(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.to_string(),
                run_id: run_id.to_string(),
            }),
            maximum_page_size: 1,
            history_event_filter_type: filter as i32,
            ..Default::default()
        };
        match self.runtime.block_on(
            self.service
                .get_workflow_execution_history(request.into_request()),
        ) {
            Ok(response) => Ok(response
                .into_inner()
                .history
                .and_then(|h| h.events.into_iter().next())),
            Err(status) => match Failure::of(&status) {
                Failure::NotFound {
                    namespace: None, ..
                } => Ok(None),
                failure => Err(self.error(failure)),
            },
        }
    }

    /// The workers that polled a task queue for workflow tasks lately (the
    /// server forgets a poller some minutes after its last poll).
    pub fn workflow_pollers(&mut self, task_queue: &str) -> Result<Vec<PollerInfo>, TemporalError> {
        let request = DescribeTaskQueueRequest {
            namespace: self.namespace.clone(),
            task_queue: Some(TaskQueue {
                name: task_queue.to_string(),
                ..Default::default()
            }),
            task_queue_type: TaskQueueType::Workflow as i32,
            ..Default::default()
        };
        self.runtime
            .block_on(self.service.describe_task_queue(request.into_request()))
            .map(|response| response.into_inner().pollers)
            .map_err(|status| self.error(Failure::of(&status)))
    }

    /// Start one run of a cleared plan's workflow now, outside its cadence
    /// (spec §6.2); returns the workflow id and run id.
    pub fn start(&mut self, cleared: &Cleared) -> Result<(String, String), TemporalError> {
        use temporalio_common::protos::temporal::api::schedule::v1::schedule_action::Action;
        let schedule = &cleared.desired().schedule;
        let Some(Action::StartWorkflow(w)) =
            schedule.action.as_ref().and_then(|a| a.action.clone())
        else {
            return Err(TemporalError::Rejected(
                "the schedule has no workflow to start".to_string(),
            ));
        };
        let workflow_id = format!("{}adhoc-{}", w.workflow_id, request_id());
        let request = StartWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_id: workflow_id.clone(),
            workflow_type: w.workflow_type.clone().or(Some(WorkflowType::default())),
            task_queue: w.task_queue.clone().or(Some(TaskQueue::default())),
            input: w.input.clone(),
            workflow_execution_timeout: w.workflow_execution_timeout,
            workflow_run_timeout: w.workflow_run_timeout,
            workflow_task_timeout: w.workflow_task_timeout,
            retry_policy: w.retry_policy.clone(),
            memo: w.memo.clone(),
            identity: format!("planguard@{}", std::process::id()),
            request_id: request_id(),
            ..Default::default()
        };
        let response = self
            .runtime
            .block_on(
                self.service
                    .start_workflow_execution(request.into_request()),
            )
            .map_err(|status| self.error(Failure::of(&status)))?
            .into_inner();
        Ok((workflow_id, response.run_id))
    }
}

/// Why a connection could not be made, from the error's types: the client's
/// error variant, then the I/O error kind, timeout or HTTP/2 error among its
/// causes.
/// The run a closed run was succeeded by (a retry, continue-as-new or the
/// next cron run), from its close event.
fn next_run(event: &HistoryEvent) -> Option<String> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let next = match event.attributes.as_ref()? {
        Attributes::WorkflowExecutionCompletedEventAttributes(a) => &a.new_execution_run_id,
        Attributes::WorkflowExecutionFailedEventAttributes(a) => &a.new_execution_run_id,
        Attributes::WorkflowExecutionTimedOutEventAttributes(a) => &a.new_execution_run_id,
        Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a) => &a.new_execution_run_id,
        _ => return None,
    };
    (!next.is_empty()).then(|| next.clone())
}

fn connect_failure(error: &ClientConnectError, tls: bool, address: &str) -> TemporalError {
    let unreachable = |reason: String| TemporalError::Unreachable {
        address: address.to_string(),
        reason,
    };
    let transport = match error {
        // The connection stands; its first call (get_system_info) failed.
        ClientConnectError::SystemInfoCallError(status) => {
            return match Failure::of(status) {
                Failure::Denied(message) => TemporalError::PermissionDenied(message),
                failure => unreachable(failure.message().to_string()),
            };
        }
        ClientConnectError::DnsResolutionError { .. } => {
            return unreachable("the host name does not resolve".to_string());
        }
        ClientConnectError::TonicTransportError(transport) => transport,
        other => return unreachable(first_line(&other.to_string())),
    };
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> =
        Some(transport as &(dyn std::error::Error + 'static));
    while let Some(cause) = next {
        causes.push(cause);
        next = cause.source();
    }
    let kinds: Vec<std::io::ErrorKind> = causes
        .iter()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind)
        .collect();
    let timed_out = causes.iter().any(|c| {
        c.is::<temporalio_client::tonic::TimeoutExpired>() || c.is::<tokio::time::error::Elapsed>()
    }) || kinds.contains(&std::io::ErrorKind::TimedOut);
    let http2 = causes.iter().any(|c| c.is::<h2::Error>());
    use std::io::ErrorKind::{
        BrokenPipe, ConnectionRefused, ConnectionReset, InvalidData, UnexpectedEof,
    };
    let reason = if kinds.contains(&ConnectionRefused) {
        "connection refused".to_string()
    } else if timed_out {
        "timed out".to_string()
    } else if tls && (kinds.contains(&InvalidData) || http2) {
        // A TLS client on a plain server fails the handshake (rustls
        // reports it as invalid data); say which side to look at.
        "TLS handshake failed; is TLS enabled on the server?".to_string()
    } else if !tls
        && (http2
            || kinds
                .iter()
                .any(|k| matches!(k, BrokenPipe | ConnectionReset | UnexpectedEof)))
    {
        "the server did not answer plain gRPC; does it want TLS (--tls)?".to_string()
    } else {
        // Nothing known: the deepest cause says most.
        causes.last().map_or_else(
            || first_line(&transport.to_string()),
            |c| first_line(&c.to_string()),
        )
    };
    unreachable(reason)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use temporalio_common::protos::google::rpc::Status as RpcStatus;
    use temporalio_common::protos::temporal::api::errordetails::v1::{
        NamespaceNotFoundFailure, NotFoundFailure, WorkflowNotReadyFailure,
    };
    use temporalio_common::protos::utilities::pack_any;

    use super::*;

    /// A status as the server sends it, with one failure detail.
    fn with_detail<T: Message>(code: Code, message: &str, type_name: &str, detail: &T) -> Status {
        let status = RpcStatus {
            code: code as i32,
            message: message.to_string(),
            details: vec![
                pack_any(format!("type.googleapis.com/{type_name}"), detail).expect("packs"),
            ],
        };
        Status::with_details(code, message, status.encode_to_vec().into())
    }

    #[test]
    fn every_code_is_classified_once_with_its_message() {
        let said = || "said\nsecond line".to_string();
        let cases = [
            (Code::Unavailable, Failure::Unavailable("said".into())),
            (
                Code::NotFound,
                Failure::NotFound {
                    message: "said".into(),
                    namespace: None,
                },
            ),
            (Code::AlreadyExists, Failure::AlreadyExists("said".into())),
            (Code::PermissionDenied, Failure::Denied("said".into())),
            (Code::Unauthenticated, Failure::Denied("said".into())),
            (
                Code::FailedPrecondition,
                Failure::FailedPrecondition("said".into()),
            ),
            (
                Code::InvalidArgument,
                Failure::InvalidArgument("said".into()),
            ),
            (
                Code::DeadlineExceeded,
                Failure::DeadlineExceeded("said".into()),
            ),
            (
                Code::ResourceExhausted,
                Failure::ResourceExhausted("said".into()),
            ),
            (
                Code::Internal,
                Failure::Other {
                    code: Code::Internal,
                    message: "said".into(),
                },
            ),
        ];
        for (code, failure) in cases {
            let classified = Failure::of(&Status::new(code, said()));
            assert_eq!(classified, failure, "{code:?}");
            assert_eq!(classified.message(), "said");
        }
    }

    #[test]
    fn a_workflow_not_ready_is_told_by_its_detail_and_asked_again() {
        // The workflow-backed scheduler's describe queries the schedule's
        // workflow, which a busy server may not have started yet.
        let early = with_detail(
            Code::FailedPrecondition,
            "workflow task is not completed yet",
            WORKFLOW_NOT_READY,
            &WorkflowNotReadyFailure::default(),
        );
        let failure = Failure::of(&early);
        assert_eq!(
            failure,
            Failure::NotReady("workflow task is not completed yet".into())
        );
        assert!(transient(&failure));
        // A stale conflict token is the same code without the detail: an
        // answer, not asked again.
        let stale = Failure::of(&Status::new(Code::FailedPrecondition, "stale"));
        assert_eq!(stale, Failure::FailedPrecondition("stale".into()));
        assert!(!transient(&stale));
        for answer in [
            Failure::NotFound {
                message: String::new(),
                namespace: None,
            },
            Failure::Denied(String::new()),
            Failure::InvalidArgument(String::new()),
        ] {
            assert!(!transient(&answer), "{answer:?}");
        }
        for passing in [
            Failure::Unavailable(String::new()),
            Failure::DeadlineExceeded(String::new()),
            Failure::ResourceExhausted(String::new()),
        ] {
            assert!(transient(&passing), "{passing:?}");
        }
    }

    #[test]
    fn a_missing_namespace_is_told_by_the_detail_not_the_message() {
        // The server's own shape: NotFound with a NamespaceNotFoundFailure.
        let missing = with_detail(
            Code::NotFound,
            "Namespace ingestion-prod is not found.",
            NAMESPACE_NOT_FOUND,
            &NamespaceNotFoundFailure {
                namespace: "ingestion-prod".into(),
            },
        );
        assert_eq!(
            Failure::of(&missing),
            Failure::NotFound {
                message: "Namespace ingestion-prod is not found.".into(),
                namespace: Some("ingestion-prod".into()),
            }
        );
        // A schedule that is not there, whose message happens to say
        // "namespace": still a missing schedule.
        let schedule = with_detail(
            Code::NotFound,
            "schedule not found in namespace ingestion-dev",
            "temporal.api.errordetails.v1.NotFoundFailure",
            &NotFoundFailure::default(),
        );
        assert!(matches!(
            Failure::of(&schedule),
            Failure::NotFound {
                namespace: None,
                ..
            }
        ));
        // Details that are not a google.rpc.Status at all are no detail.
        let garbage = Status::with_details(Code::NotFound, "gone", vec![0xffu8, 0xff].into());
        assert!(matches!(
            Failure::of(&garbage),
            Failure::NotFound {
                namespace: None,
                ..
            }
        ));
    }

    #[test]
    fn a_connection_whose_first_call_is_refused_is_told_by_its_code() {
        let denied = ClientConnectError::SystemInfoCallError(Status::new(
            Code::Unauthenticated,
            "invalid API key\ndetails",
        ));
        assert!(matches!(
            connect_failure(&denied, true, "x:7233"),
            TemporalError::PermissionDenied(m) if m == "invalid API key"
        ));
        let down = ClientConnectError::SystemInfoCallError(Status::new(
            Code::Unavailable,
            "upstream connect error",
        ));
        assert!(matches!(
            connect_failure(&down, false, "x:7233"),
            TemporalError::Unreachable { address, reason }
                if address == "x:7233" && reason == "upstream connect error"
        ));
    }

    #[test]
    fn an_endpoint_debug_dump_hides_the_api_key() {
        let endpoint = Endpoint {
            address: "temporal.example:7233".into(),
            api_key: Some("tk_live_9f8e7d6c5b4a".into()),
            tls: Some(Tls {
                client_key: Some(Pem::Data(b"-----BEGIN PRIVATE KEY-----".to_vec())),
                ..Tls::default()
            }),
        };
        let shown = format!("{endpoint:?} {endpoint:#?}");
        assert!(!shown.contains("tk_live_9f8e7d6c5b4a"), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("temporal.example:7233"), "{shown}");
        assert!(shown.contains("api_key: Some(\"…\")"), "{shown}");
        let keyless = Endpoint {
            api_key: None,
            ..endpoint
        };
        assert!(format!("{keyless:?}").contains("api_key: None"));
    }
}
