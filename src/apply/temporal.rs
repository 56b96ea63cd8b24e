//! The Temporal frontend, through the raw WorkflowService: describe, create,
//! update (with the conflict token) and start. Blocking calls over a
//! single-threaded runtime; every failure becomes one clear line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::gate::Cleared;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::tonic::{Code, IntoRequest, Status};
use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::common::v1::{Memo, WorkflowType};
use temporalio_common::protos::temporal::api::enums::v1::WorkflowExecutionStatus;
use temporalio_common::protos::temporal::api::schedule::v1::{Schedule, ScheduleInfo};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CreateScheduleRequest, DescribeScheduleRequest, DescribeWorkflowExecutionRequest,
    ListSchedulesRequest, StartWorkflowExecutionRequest, UpdateScheduleRequest,
};

/// How to reach the frontend (src/apply/connect.rs decides it).
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// host:port
    pub address: String,
    pub api_key: Option<String>,
    /// TLS, when the server wants it (always with an API key).
    pub tls: Option<Tls>,
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
        let options = ConnectionOptions::new(url)
            .identity(format!("planguard@{}", std::process::id()))
            .connect_timeout(Duration::from_secs(5))
            .maybe_api_key(endpoint.api_key.clone())
            .maybe_tls_options(tls.clone())
            .build();
        let connection = runtime
            .block_on(Connection::connect(options))
            .map_err(|e| {
                let reason = first_line(&format!("{e:?}"));
                let plain = [
                    ("ConnectionRefused", "connection refused"),
                    ("dns error", "the host name does not resolve"),
                    ("timed out", "timed out"),
                    ("Elapsed", "timed out"),
                ]
                .iter()
                .find(|(needle, _)| reason.contains(needle))
                .map(|(_, said)| said.to_string());
                // A TLS client on a plain server (or the reverse) fails the
                // handshake; say which side to look at.
                if tls.is_some()
                    && (reason.contains("InvalidContentType")
                        || reason.contains("CorruptMessage")
                        || reason.contains("tls"))
                {
                    unreachable("TLS handshake failed; is TLS enabled on the server?".to_string())
                } else if tls.is_none()
                    && (reason.contains("h2")
                        || reason.contains("frame")
                        || reason.contains("broken pipe"))
                {
                    unreachable(
                        "the server did not answer plain gRPC; does it want TLS (--tls)?"
                            .to_string(),
                    )
                } else {
                    unreachable(plain.unwrap_or(reason))
                }
            })?;
        Ok(Self {
            service: connection.workflow_service(),
            runtime,
            namespace: namespace.to_string(),
            address: endpoint.address.clone(),
        })
    }

    fn error(&self, status: Status) -> TemporalError {
        let message = first_line(status.message());
        match status.code() {
            Code::NotFound if message.contains("amespace") => {
                TemporalError::NamespaceMissing(self.namespace.clone())
            }
            Code::Unavailable | Code::DeadlineExceeded => TemporalError::Unreachable {
                address: self.address.clone(),
                reason: message,
            },
            Code::PermissionDenied | Code::Unauthenticated => {
                TemporalError::PermissionDenied(message)
            }
            Code::InvalidArgument | Code::FailedPrecondition => TemporalError::Rejected(message),
            code => TemporalError::Other { code, message },
        }
    }

    /// The schedule, or None when there is none by that id.
    pub fn describe(&mut self, schedule_id: &str) -> Result<Option<Deployed>, TemporalError> {
        let request = DescribeScheduleRequest {
            namespace: self.namespace.clone(),
            schedule_id: schedule_id.to_string(),
        };
        match self
            .runtime
            .block_on(self.service.describe_schedule(request.into_request()))
        {
            Ok(response) => {
                let response = response.into_inner();
                Ok(Some(Deployed {
                    schedule: response.schedule.unwrap_or_default(),
                    conflict_token: response.conflict_token,
                    info: response.info,
                }))
            }
            Err(status)
                if status.code() == Code::NotFound && !status.message().contains("amespace") =>
            {
                Ok(None)
            }
            Err(status) => Err(self.error(status)),
        }
    }

    /// Register a cleared plan's schedule (only the gate makes a `Cleared`).
    pub fn create(&mut self, cleared: &Cleared) -> Result<(), TemporalError> {
        let memo = Memo {
            fields: std::collections::HashMap::from([(
                "managed_by".to_string(),
                super::model::json_payload(&serde_json::json!("planguard")),
            )]),
        };
        let request = CreateScheduleRequest {
            namespace: self.namespace.clone(),
            schedule_id: cleared.desired.schedule_id.clone(),
            schedule: Some(cleared.desired.schedule.clone()),
            identity: format!("planguard@{}", std::process::id()),
            request_id: request_id(),
            memo: Some(memo),
            ..Default::default()
        };
        self.runtime
            .block_on(self.service.create_schedule(request.into_request()))
            .map(|_| ())
            .map_err(|status| self.error(status))
    }

    /// Replace a deployed schedule with a cleared plan's, conditional on the
    /// conflict token of `deployed`. An update replaces the whole state, so
    /// the operator's pause and notes are carried over unless `unpause`.
    pub fn update(
        &mut self,
        cleared: &Cleared,
        deployed: &Deployed,
        unpause: bool,
    ) -> Result<(), TemporalError> {
        let mut schedule = cleared.desired.schedule.clone();
        if !unpause {
            schedule.state = deployed.schedule.state.clone();
        }
        let conflict_token = deployed.conflict_token.clone();
        let request = UpdateScheduleRequest {
            namespace: self.namespace.clone(),
            schedule_id: cleared.desired.schedule_id.clone(),
            schedule: Some(schedule),
            conflict_token,
            identity: format!("planguard@{}", std::process::id()),
            request_id: request_id(),
            ..Default::default()
        };
        self.runtime
            .block_on(self.service.update_schedule(request.into_request()))
            .map(|_| ())
            .map_err(|status| self.error(status))
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
                .map_err(|status| self.error(status))?
                .into_inner();
            ids.extend(response.schedules.into_iter().map(|s| s.schedule_id));
            if response.next_page_token.is_empty() {
                return Ok(ids);
            }
            page = response.next_page_token;
        }
    }

    /// The status of one workflow run, or None when the server no longer
    /// knows it (past retention).
    pub fn workflow_status(
        &mut self,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<Option<WorkflowExecutionStatus>, TemporalError> {
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
            Ok(response) => Ok(response
                .into_inner()
                .workflow_execution_info
                .map(|info| info.status())),
            Err(status)
                if status.code() == Code::NotFound && !status.message().contains("amespace") =>
            {
                Ok(None)
            }
            Err(status) => Err(self.error(status)),
        }
    }

    /// Start one run of a cleared plan's workflow now, outside its cadence
    /// (spec §6.2); returns the workflow id and run id.
    pub fn start(&mut self, cleared: &Cleared) -> Result<(String, String), TemporalError> {
        use temporalio_common::protos::temporal::api::schedule::v1::schedule_action::Action;
        let schedule = &cleared.desired.schedule;
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
            .map_err(|status| self.error(status))?
            .into_inner();
        Ok((workflow_id, response.run_id))
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}
