//! `SystemGrpc`: the real gRPC executor. Compiles each distinct proto once (a `for` over a
//! thousand calls compiles it once), keeps one HTTP/2 channel per server (plaintext, or TLS with
//! rustls and the system's roots, which `SSL_CERT_FILE`/`SSL_CERT_DIR` may replace), turns
//! credentials into the `authorization` metadata with the same authenticator as HTTP calls, and
//! makes unary and server-streaming calls through tonic with a dynamic codec.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use http::uri::PathAndQuery;
use prost_reflect::DescriptorPool;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

use super::codec::DynamicCodec;
use super::status::status_error;
use super::{fields, proto};
use crate::exec::auth::Authenticator;
use crate::host::effects::credentials::Credentials;
use crate::host::effects::grpc::{GrpcClient, GrpcReply, GrpcRequest, ProtoFiles};
use crate::problem::{ErrorKind, WorkflowError};

/// Time allowed to open a connection (TCP, TLS, HTTP/2); the task's timeout bounds the call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response message accepted (the same cap as an HTTP response body).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The real executor. Cheap to clone; clones share compiled protos, channels and tokens.
#[derive(Clone, Default)]
pub struct SystemGrpc {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Compiled protos by content, with the last one used kept aside: the calls of one task
    /// share one `Arc`, found by pointer without hashing the sources.
    pools: Mutex<Pools>,
    channels: Mutex<HashMap<(String, u16, bool), Channel>>,
    authenticator: OnceLock<Authenticator>,
}

#[derive(Default)]
struct Pools {
    last: Option<(Arc<ProtoFiles>, DescriptorPool)>,
    all: HashMap<Arc<ProtoFiles>, Result<DescriptorPool, WorkflowError>>,
}

impl GrpcClient for SystemGrpc {
    fn call(&self, request: GrpcRequest) -> BoxFuture<'static, Result<GrpcReply, WorkflowError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { inner.call(request).await })
    }
}

impl Inner {
    async fn call(&self, request: GrpcRequest) -> Result<GrpcReply, WorkflowError> {
        let pool = self.pool(&request.proto)?;
        let method = proto::find_method(
            &pool,
            &request.proto.location,
            &request.service,
            &request.method,
        )?;
        proto::check_kind(&method)?;
        let message = fields::to_message(&request.arguments, &method.input())?;
        let call = format!(
            "{}/{} at {}:{}",
            request.service, request.method, request.host, request.port
        );
        let mut outgoing = tonic::Request::new(message);
        if let Some(deadline) = request.deadline {
            outgoing.set_timeout(deadline);
        }
        if let Some(credentials) = &request.credentials {
            let value = self.authorization(credentials).await?;
            outgoing.metadata_mut().insert("authorization", value);
        }
        let path = PathAndQuery::try_from(format!(
            "/{}/{}",
            method.parent_service().full_name(),
            method.name()
        ))
        .map_err(|error| {
            WorkflowError::new(ErrorKind::Configuration, "Invalid gRPC method")
                .with_detail(format!("{call}: {error}"))
        })?;
        let channel = self.channel(&request).await?;
        let mut client = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let codec = DynamicCodec::new(method.output());
        let had_deadline = request.deadline.is_some();
        let failed = |status: Status| {
            let error = status_error(&local_failure(status), &call, had_deadline);
            (error.status == 401, error)
        };
        let result = async {
            client.ready().await.map_err(|error| {
                failed(Status::unavailable(format!(
                    "the connection is not usable: {}",
                    chain(&error)
                )))
            })?;
            if method.is_server_streaming() {
                let response = client
                    .server_streaming(outgoing, path, codec)
                    .await
                    .map_err(&failed)?;
                let mut stream = response.into_inner();
                let mut messages = Vec::new();
                while let Some(message) = stream.message().await.map_err(&failed)? {
                    messages.push(fields::to_json(&message).map_err(|e| (false, e))?);
                }
                Ok(GrpcReply::Stream(messages))
            } else {
                let response = client.unary(outgoing, path, codec).await.map_err(&failed)?;
                Ok(GrpcReply::Unary(
                    fields::to_json(response.get_ref()).map_err(|e| (false, e))?,
                ))
            }
        }
        .await;
        match result {
            Ok(reply) => Ok(reply),
            Err((unauthenticated, error)) => {
                // A refused token is not offered again: a retry fetches a new one.
                if let (true, Some(credentials)) = (unauthenticated, &request.credentials) {
                    self.authenticator().invalidate(credentials).await;
                }
                Err(error)
            }
        }
    }

    /// The compiled pool of these sources, compiling them the first time.
    fn pool(&self, files: &Arc<ProtoFiles>) -> Result<DescriptorPool, WorkflowError> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((last, pool)) = &pools.last
            && Arc::ptr_eq(last, files)
        {
            return Ok(pool.clone());
        }
        let compiled = pools
            .all
            .entry(Arc::clone(files))
            .or_insert_with(|| proto::compile(files))
            .clone();
        if let Ok(pool) = &compiled {
            pools.last = Some((Arc::clone(files), pool.clone()));
        }
        compiled
    }

    /// The channel to the request's server, connecting the first time. A failed connection is
    /// not remembered: the next call (a retry) tries again.
    async fn channel(&self, request: &GrpcRequest) -> Result<Channel, WorkflowError> {
        let key = (request.host.clone(), request.port, request.tls);
        if let Some(channel) = self
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(channel.clone());
        }
        let scheme = if request.tls { "https" } else { "http" };
        let host = if request.host.contains(':') {
            format!("[{}]", request.host)
        } else {
            request.host.clone()
        };
        let address = format!("{scheme}://{host}:{}", request.port);
        let unavailable = |why: String| {
            WorkflowError::new(ErrorKind::Communication, "gRPC call failed")
                .with_status(503)
                .with_detail(format!(
                    "UNAVAILABLE: cannot connect to {}:{}{}: {why}",
                    request.host,
                    request.port,
                    if request.tls { " (TLS)" } else { "" }
                ))
        };
        let mut endpoint = Endpoint::from_shared(address)
            .map_err(|error| unavailable(chain(&error)))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        if request.tls {
            let tls = ClientTlsConfig::new()
                .with_native_roots()
                .domain_name(request.host.clone());
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|error| unavailable(chain(&error)))?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|error| unavailable(chain(&error)))?;
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, channel.clone());
        Ok(channel)
    }

    /// The `authorization` metadata value for these credentials.
    async fn authorization(
        &self,
        credentials: &Credentials,
    ) -> Result<MetadataValue<tonic::metadata::Ascii>, WorkflowError> {
        let authorization = self
            .authenticator()
            .authorize(credentials)
            .await?
            .ok_or_else(|| {
                WorkflowError::new(ErrorKind::Configuration, "Unsupported authentication")
                    .with_detail(format!(
                        "`{}` authentication answers an HTTP challenge and cannot be used for gRPC calls",
                        credentials.scheme_name()
                    ))
            })?;
        MetadataValue::try_from(format!(
            "{} {}",
            authorization.scheme, authorization.parameter
        ))
        .map_err(|_| {
            WorkflowError::new(ErrorKind::Authentication, "Invalid credentials").with_detail(
                format!(
                    "the `{}` credentials contain characters that cannot be sent as metadata",
                    credentials.scheme_name()
                ),
            )
        })
    }

    fn authenticator(&self) -> &Authenticator {
        self.authenticator.get_or_init(Authenticator::default)
    }
}

/// A status made by this side from a transport failure (it carries the error it came from; a
/// server's status never does) is `UNAVAILABLE`, as gRPC clients report a connection that
/// failed, with the whole cause in its message.
fn local_failure(status: Status) -> Status {
    match status.source() {
        Some(_) if status.code() == Code::Unknown => Status::unavailable(chain(&status)),
        _ => status,
    }
}

/// An error and its causes, `: `-separated, without repeating a cause that its parent already
/// quoted.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}
