//! A real HTTP server for tests: an axum router served on 127.0.0.1 with an ephemeral port, on
//! its own thread and runtime, so plain `#[test]`s can run the `workflow` binary against it.
//! The listener is bound before `serve` returns: no waiting for readiness.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

/// A running server; dropping it stops it (handlers still running are dropped too).
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `router` until the returned server is dropped.
pub fn serve(router: axum::Router) -> TestServer {
    let (bound, address) = mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = bound.send(Err(error.to_string()));
                return;
            }
        };
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(listener) => listener,
                Err(error) => {
                    let _ = bound.send(Err(error.to_string()));
                    return;
                }
            };
            let _ = bound.send(listener.local_addr().map_err(|e| e.to_string()));
            tokio::select! {
                _ = axum::serve(listener, router) => {}
                _ = stopped => {}
            }
        });
        // Dropping the runtime here drops handlers that never finish (hanging-server tests).
        runtime.shutdown_background();
    });
    let addr = match address.recv() {
        Ok(Ok(addr)) => addr,
        Ok(Err(error)) => panic!("test server did not start: {error}"),
        Err(error) => panic!("test server thread ended: {error}"),
    };
    TestServer {
        addr,
        stop: Some(stop),
    }
}
