//! gRPC benchmark of the real `workflow` binary against the Python grpcio server of
//! `tests/peers/grpc/server.py` (127.0.0.1): 1,000 sequential unary calls made by a `for` loop of
//! `call: grpc` tasks, beside
//! - grpcio's own Python client making the same 1,000 calls to the same server (goal: the
//!   workflow is not slower), and
//! - a plain tonic loop in Rust (static prost message types, no JSON, no reflection) making the
//!   same calls, which gives the workflow's overhead per call.
//!
//! Every side runs in a process of its own and is timed from outside that process (start-up,
//! the proto compile or stub import and the connection included); the Python client also times
//! its own loop, shown for reference. Runs go with `--no-journal`. Needs `python3` with grpcio
//! and grpcio-tools (`pip install -r tests/peers/requirements.txt`).
//! Run with `cargo bench --bench grpc`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Endpoint;

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");
const CALLS: usize = 1000;
const RUNS: usize = 7;
/// The argument that makes this benchmark run only the plain tonic loop (the child process).
const LOOP_MODE: &str = "--tonic-loop";

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some(LOOP_MODE) {
        let port = args.next().unwrap_or_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(tonic_loop(&port));
        }
        return;
    }
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/grpc");
    let Some((mut server, port)) = start_server(&peers) else {
        eprintln!("the grpcio server did not start: is grpcio installed? (see tests/peers)");
        return;
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("cannot create a temporary directory: {error}");
            return;
        }
    };
    let file = dir.path().join("calls.yaml");
    if let Err(error) = std::fs::write(&file, document(&peers, port)) {
        eprintln!("cannot write the workflow: {error}");
        return;
    }
    let mut workflow_times = Vec::new();
    let mut python_times = Vec::new();
    let mut python_loop_times = Vec::new();
    let mut tonic_times = Vec::new();
    for _ in 0..RUNS {
        workflow_times.push(timed(Command::new(BINARY).args([
            "run",
            "--no-journal",
            "--progress",
            "none",
            "--format",
            "json",
            &file.display().to_string(),
        ])));
        let started = Instant::now();
        let output = Command::new("python3")
            .arg(peers.join("server.py"))
            .args(["client", &port.to_string(), &CALLS.to_string()])
            .output();
        python_times.push(started.elapsed());
        if let Some(seconds) = output.ok().and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("ELAPSED ").map(str::to_owned))
        }) {
            python_loop_times.push(Duration::from_secs_f64(
                seconds.trim().parse().unwrap_or(0.0),
            ));
        }
        let own = std::env::current_exe().unwrap_or_default();
        tonic_times.push(timed(
            Command::new(own).args([LOOP_MODE, &port.to_string()]),
        ));
    }
    let _ = server.kill();
    let _ = server.wait();
    let workflow = median(&mut workflow_times);
    let python = median(&mut python_times);
    let python_loop = median(&mut python_loop_times);
    let plain = median(&mut tonic_times);
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / CALLS as f64;
    println!(
        "\n{:<66} {:>10} {:>10}",
        "benchmark (median of 7 runs)", "time", "per call"
    );
    for (name, time) in [
        (
            "workflow: for loop of 1,000 `call: grpc` (whole process)",
            workflow,
        ),
        ("grpcio Python client: 1,000 calls (whole process)", python),
        (
            "grpcio Python client: 1,000 calls (its own loop only)",
            python_loop,
        ),
        (
            "plain tonic loop in Rust: 1,000 calls (whole process)",
            plain,
        ),
    ] {
        println!(
            "{name:<66} {:>8.1}ms {:>8.1}µs",
            time.as_secs_f64() * 1e3,
            per_call(time)
        );
    }
    println!(
        "workflow / grpcio client: {:.2}× (whole processes), {:.2}× (against its loop only)",
        workflow.as_secs_f64() / python.as_secs_f64(),
        workflow.as_secs_f64() / python_loop.as_secs_f64().max(1e-9)
    );
    println!(
        "workflow overhead over plain tonic: {:.1}µs per call",
        (workflow.as_secs_f64() - plain.as_secs_f64()) * 1e6 / CALLS as f64
    );
}

/// Starts `server.py serve` and reads its port.
fn start_server(peers: &Path) -> Option<(Child, u16)> {
    let mut child = Command::new("python3")
        .arg(peers.join("server.py"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .next()?
        .ok()?
        .strip_prefix("PORT ")?
        .trim()
        .parse()
        .ok()?;
    // Keep draining the server's stdout so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Some((child, port))
}

fn document(peers: &Path, port: u16) -> String {
    format!(
        "document:\n  dsl: '1.0.3'\n  namespace: bench\n  name: grpc-calls\n  version: '1.0.0'\ndo:\n  - each:\n      for:\n        each: n\n        in: ${{ [range({CALLS})] }}\n      do:\n        - hello:\n            call: grpc\n            with:\n              proto:\n                endpoint: file://{}\n              service:\n                name: interop.greeter.v1.Greeter\n                host: 127.0.0.1\n                port: {port}\n              method: SayHello\n              arguments:\n                name: ${{ \"n\" + ($n | tostring) }}\n",
        peers.join("greeter.proto").display()
    )
}

fn timed(command: &mut Command) -> Duration {
    let started = Instant::now();
    match command.output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => eprintln!(
            "a run failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => eprintln!("cannot start a run: {error}"),
    }
    started.elapsed()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// `HelloRequest` and `HelloReply` of greeter.proto, the fields this loop uses, as static types.
#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

/// The smallest codec for static prost types.
#[derive(Default)]
struct StaticCodec;

struct StaticEncoder;
struct StaticDecoder;

impl Codec for StaticCodec {
    type Encode = HelloRequest;
    type Decode = HelloReply;
    type Encoder = StaticEncoder;
    type Decoder = StaticDecoder;
    fn encoder(&mut self) -> StaticEncoder {
        StaticEncoder
    }
    fn decoder(&mut self) -> StaticDecoder {
        StaticDecoder
    }
}

impl Encoder for StaticEncoder {
    type Item = HelloRequest;
    type Error = tonic::Status;
    fn encode(&mut self, item: HelloRequest, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        prost::Message::encode(&item, dst).map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl Decoder for StaticDecoder {
    type Item = HelloReply;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<HelloReply>, tonic::Status> {
        <HelloReply as prost::Message>::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

/// The plain loop: one channel, 1,000 sequential unary calls.
async fn tonic_loop(port: &str) {
    let Ok(endpoint) = Endpoint::from_shared(format!("http://127.0.0.1:{port}")) else {
        return;
    };
    let Ok(channel) = endpoint.tcp_nodelay(true).connect().await else {
        eprintln!("the tonic loop cannot connect");
        return;
    };
    let mut client = tonic::client::Grpc::new(channel);
    let path = PathAndQuery::from_static("/interop.greeter.v1.Greeter/SayHello");
    for n in 0..CALLS {
        if client.ready().await.is_err() {
            return;
        }
        let request = tonic::Request::new(HelloRequest {
            name: format!("n{n}"),
        });
        if let Err(status) = client.unary(request, path.clone(), StaticCodec).await {
            eprintln!("the tonic loop failed: {status}");
            return;
        }
    }
}
