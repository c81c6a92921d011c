//! External services that some tests need: brokers on their standard ports, Python and npm peers
//! (servers and clients we did not write). On a machine without one of them such a test is
//! skipped, loudly: the skip line goes straight to the terminal, past the test harness's output
//! capture, so `cargo test` says which tests did not run and why. `.ci/run` starts every service,
//! installs every peer and sets `WORKFLOW_TEST_SERVICES=required`, which turns a missing service
//! into a failure: CI never skips these tests.

// Each area uses the needs it has; not every constructor is used by every build of the tests.
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Something a test needs from outside the project.
#[derive(Debug, Clone)]
pub enum Need {
    /// A server answering TCP connections at `addr` (a broker, a database).
    Tcp {
        name: &'static str,
        addr: &'static str,
    },
    /// A Python module importable by `python3` (a peer such as `grpc`, `nats`, `paho.mqtt`).
    Python { module: &'static str },
    /// A program on PATH (or an absolute path), e.g. `node`, `nats-server`.
    Program { name: &'static str },
    /// A path that must exist (e.g. an npm package installed under `tests/peers/node_modules`).
    Path { what: &'static str, path: String },
}

impl Need {
    pub fn tcp(name: &'static str, addr: &'static str) -> Need {
        Need::Tcp { name, addr }
    }
    pub fn python(module: &'static str) -> Need {
        Need::Python { module }
    }
    pub fn program(name: &'static str) -> Need {
        Need::Program { name }
    }
    pub fn path(what: &'static str, path: impl Into<String>) -> Need {
        Need::Path {
            what,
            path: path.into(),
        }
    }

    pub fn nats() -> Need {
        Need::tcp("NATS", "127.0.0.1:4222")
    }
    pub fn mosquitto() -> Need {
        Need::tcp("Mosquitto (MQTT)", "127.0.0.1:1883")
    }
    pub fn rabbitmq() -> Need {
        Need::tcp("RabbitMQ (AMQP)", "127.0.0.1:5672")
    }
    pub fn redis() -> Need {
        Need::tcp("Redis", "127.0.0.1:6379")
    }

    /// `None` when the need is met, else why not.
    fn missing(&self) -> Option<String> {
        match self {
            Need::Tcp { name, addr } => {
                let address: SocketAddr = addr.parse().expect("a literal socket address");
                match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
                    Ok(_) => None,
                    Err(e) => Some(format!("{name} on {addr} ({e})")),
                }
            }
            Need::Python { module } => {
                let ok = Command::new("python3")
                    .args(["-c", &format!("import {module}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                (!ok).then(|| format!("the Python module `{module}` (pip install)"))
            }
            Need::Program { name } => {
                let found = if name.contains('/') {
                    std::path::Path::new(name).exists()
                } else {
                    std::env::var_os("PATH").is_some_and(|paths| {
                        std::env::split_paths(&paths).any(|dir| dir.join(name).is_file())
                    })
                };
                (!found).then(|| format!("the program `{name}`"))
            }
            Need::Path { what, path } => {
                (!std::path::Path::new(path).exists()).then(|| format!("{what} ({path})"))
            }
        }
    }
}

/// Whether `.ci/run` asked for every service to be present.
pub fn services_required() -> bool {
    std::env::var("WORKFLOW_TEST_SERVICES").is_ok_and(|v| v == "required")
}

/// True when every need of `test` is met. Otherwise the test must return at once: this prints
/// a SKIPPED line (or, under `WORKFLOW_TEST_SERVICES=required`, panics naming what is missing).
#[must_use]
pub fn ready(test: &str, needs: &[Need]) -> bool {
    let missing: Vec<String> = needs.iter().filter_map(Need::missing).collect();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if services_required() {
        panic!("{test} needs {what}, and WORKFLOW_TEST_SERVICES=required");
    }
    // Straight to stderr, not through eprintln!: the harness captures the macro's output of a
    // passing test, and a skip must be visible.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: needs {what}. `bash .ci/run` starts the services and installs the peers; \
         WORKFLOW_TEST_SERVICES=required makes this a failure."
    );
    false
}

/// `tests/peers/`: the Python and npm peers used by interoperability tests.
pub fn peers_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}
