//! The one value a run is given as its host: every effect, its clock, its ids and its loader.
//! The local host is built by `exec` (`Executors::system`), a Temporal worker builds its own,
//! tests script each part.

use std::sync::Arc;

use super::effects::a2a::A2aClient;
use super::effects::asyncapi::AsyncApiClient;
use super::effects::events::EventBus;
use super::effects::grpc::GrpcClient;
use super::effects::http::HttpClient;
use super::effects::mcp::McpClient;
use super::effects::process::ProcessRunner;
use super::{Clock, Ids, Loader};

/// The host a run is given: its effects (the executors), its clock, its ids and its loader,
/// and the configuration the engine would otherwise read from the environment. Tests swap in
/// scripted fakes for any part.
#[derive(Clone)]
pub struct Executors {
    pub processes: Arc<dyn ProcessRunner>,
    pub http: Arc<dyn HttpClient>,
    pub grpc: Arc<dyn GrpcClient>,
    pub mcp: Arc<dyn McpClient>,
    pub a2a: Arc<dyn A2aClient>,
    /// `call: asyncapi`: plain messages to and from the brokers an AsyncAPI document names.
    pub asyncapi: Arc<dyn AsyncApiClient>,
    /// Where `emit` publishes and `listen` subscribes: the brokers of `--broker`, or an
    /// in-process bus between the tasks of the run.
    pub events: Arc<dyn EventBus>,
    /// Time and timers: `wait`, retry backoff, timeouts, timestamps.
    pub clock: Arc<dyn Clock>,
    /// Run and event ids, retry jitter.
    pub ids: Arc<dyn Ids>,
    /// Sub-workflows, function definitions and external resources.
    pub loader: Arc<dyn Loader>,
    /// The container engine asked for (`WORKFLOW_CONTAINER_ENGINE`), probed on first use.
    pub container_engine: Option<String>,
}
