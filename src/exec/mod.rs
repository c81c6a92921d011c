//! The local host: the only code that touches the outside world. It implements the effects the
//! engine defines in `crate::host::effects`; the engine evaluates every expression first and hands
//! executors plain requests; executors do the I/O and must be cancel-safe (dropping their future
//! stops the work: processes are killed, connections closed).

pub mod a2a;
pub mod asyncapi;
pub mod auth;
pub mod broker;
pub mod container;
pub mod events;
pub mod grpc;
pub mod http;
pub mod mcp;
pub mod process;
pub(crate) mod resource;

use std::sync::Arc;

// The contracts this module implements are the engine's (`crate::host::effects`).
use crate::host::Executors;
use crate::host::effects::process::{LineObserver, OutputStream};
use crate::host::{RandomIds, TokioClock};

impl Executors {
    /// The real executors of this machine.
    pub fn system() -> Self {
        Self::system_with(http::HttpSettings::default())
    }

    /// The real executors, the HTTP client configured by `http`.
    pub fn system_with(http: http::HttpSettings) -> Self {
        let processes = process::SystemProcesses::default();
        let http = http::ReqwestHttp::new(http);
        Executors {
            processes: Arc::new(processes.clone()),
            grpc: grpc::system(),
            mcp: Arc::new(mcp::RmcpClient::new(processes, http.clone())),
            a2a: Arc::new(a2a::JsonRpcA2a::new(Arc::new(http.clone()))),
            asyncapi: Arc::new(asyncapi::SystemAsyncApi::new(http.clone())),
            http: Arc::new(http),
            events: Arc::new(events::InProcessBus::default()),
            clock: Arc::new(TokioClock),
            ids: Arc::new(RandomIds),
            loader: Arc::new(crate::loader::LocalLoader::default()),
            container_engine: container::configured_engine(),
        }
    }
}
