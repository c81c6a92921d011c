//! A peer server (a Python or npm program we did not write) started for one test on a free
//! loopback port, waited for until it accepts connections, and killed when the test ends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a peer may take to start: Python imports are slow on a loaded machine.
const START: Duration = Duration::from_secs(120);

pub struct Peer {
    child: Child,
    pub port: u16,
}

impl Peer {
    /// Starts `program ARG...` with `PORT` set to a free port (plus `env`), and waits until the
    /// port accepts connections.
    pub fn start(program: &str, args: &[&Path], env: &[(&str, &str)]) -> Peer {
        let port = free_port();
        let mut command = Command::new(program);
        command
            .args(args)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {program}: {e}"));
        let mut peer = Peer { child, port };
        peer.wait_ready(program);
        peer
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&mut self, program: &str) {
        let deadline = Instant::now() + START;
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the peer {program} exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the peer {program} did not listen on port {} within {START:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bound to port 0, then released for the peer).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("{e}"))
}
