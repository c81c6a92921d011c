//! The Python grpcio server of `tests/peers/grpc/server.py`, started on a free port of
//! 127.0.0.1: one shared plaintext server for the whole test binary (tests use unique keys), or
//! a server of its own (TLS). Its stdout lines (`CANCELLED <key>`) are collected for polling.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::services::peers_dir;

/// A running server; dropping it stops it (its stdin closes, and it is killed).
pub struct GrpcPeer {
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    child: Mutex<Child>,
    _stdin: Mutex<Option<ChildStdin>>,
}

impl Drop for GrpcPeer {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `tests/peers/grpc/`.
pub fn peer_dir() -> PathBuf {
    peers_dir().join("grpc")
}

/// The shared plaintext server.
pub fn shared() -> &'static GrpcPeer {
    static PEER: OnceLock<GrpcPeer> = OnceLock::new();
    PEER.get_or_init(|| GrpcPeer::start(&[]))
}

impl GrpcPeer {
    /// Starts `server.py serve ARGS...` and waits (generously) for its `PORT` line.
    pub fn start(args: &[&str]) -> GrpcPeer {
        let mut child = Command::new("python3")
            .arg(peer_dir().join("server.py"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the grpcio server: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut lines) = collected.lock() {
                    lines.push(line);
                }
            }
        });
        let peer_lines = Arc::clone(&lines);
        let port_line = wait_for_line(&peer_lines, "PORT ", Duration::from_secs(60))
            .unwrap_or_else(|| panic!("the grpcio server did not print its port in 60 s"));
        let port = port_line
            .trim_start_matches("PORT ")
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("bad port line {port_line:?}: {e}"));
        GrpcPeer {
            port,
            lines,
            child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    }

    /// Waits up to `within` for a line starting with `prefix`.
    pub fn wait_for(&self, prefix: &str, within: Duration) -> Option<String> {
        wait_for_line(&self.lines, prefix, within)
    }
}

fn wait_for_line(lines: &Mutex<Vec<String>>, prefix: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = lines
            .lock()
            .ok()
            .and_then(|lines| lines.iter().find(|l| l.starts_with(prefix)).cloned())
        {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
