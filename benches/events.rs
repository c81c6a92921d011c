//! Events over a real NATS server (127.0.0.1:4222, JetStream): 10,000 `emit`s in a `for` loop
//! against nats-py publishing the same 10,000 events, each acknowledged before the next (the
//! ratio is the figure); and the latency from an event published by nats-py to the `listen` task
//! completing (p50, p99): the publisher's clock when the server had it, the `completed` event's
//! time in the run's `--events` file.
//! Also the latency from an event POSTed to `--receive` (answered 202) to the `listen` task
//! completing, which needs no broker.
//! Run with `cargo bench --bench events`; needs NATS and `pip install nats-py`; prints figures,
//! asserts nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");
const EVENTS: usize = 10_000;
const LATENCY_SAMPLES: usize = 30;

fn main() {
    let dir = std::env::temp_dir().join(format!("workflow-bench-events-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return;
    }
    receive_latency(&dir);
    if std::net::TcpStream::connect("127.0.0.1:4222").is_err() {
        eprintln!("no NATS server on 127.0.0.1:4222: nothing more measured");
        return;
    }
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/events/nats_peer.py");
    emits(&dir, &peer);
    latency(&dir, &peer);
}

fn document(name: &str, body: &str) -> String {
    format!("document: {{dsl: '1.0.3', namespace: bench, name: {name}, version: '1.0.0'}}\n{body}")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Err(error) = std::fs::write(&path, text) {
        eprintln!("cannot write {}: {error}", path.display());
    }
    path
}

fn workflow(dir: &Path, file: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("run")
        .arg(file)
        .args([
            "--format",
            "json",
            "--progress",
            "none",
            "--broker",
            "nats://127.0.0.1:4222",
        ])
        .args(args)
        .env("WORKFLOW_STATE_DIR", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// 10,000 emits vs nats-py, on a subject a JetStream stream stores (both wait for each
/// acknowledgement) and on one no stream stores (core publish and flush).
fn emits(dir: &Path, peer: &Path) {
    for stored in [true, false] {
        let subject = format!("bench.emit.{}.{}", stored, std::process::id());
        if stored {
            // A listen that never completes creates the stream; the run is stopped afterwards.
            let _ = Command::new("python3")
                .arg(peer)
                .args(["make-stream", &subject])
                .status();
        }
        let body = format!(
            "do:\n  - loop:\n      for: {{each: n, in: '${{ [range({EVENTS})] }}'}}\n      do:\n        - send:\n            emit: {{event: {{with: {{type: {subject}, source: https://bench.example, data: {{n: '${{ $n }}'}}}}}}}}\n"
        );
        let file = write(
            dir,
            &format!("emit-{stored}.yaml"),
            &document("emits", &body),
        );
        let ours = timed(|| {
            let _ = workflow(dir, &file, &["--no-journal"]).status();
        });
        let peer_out = Command::new("python3")
            .arg(peer)
            .args(["bench-publish", &subject, &EVENTS.to_string()])
            .output();
        let theirs = peer_out
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map(Duration::from_secs_f64);
        let kind = if stored {
            "JetStream-acknowledged"
        } else {
            "core NATS + flush"
        };
        match theirs {
            Some(theirs) => println!(
                "{EVENTS} emits ({kind}): workflow {:.2} s, nats-py {:.2} s: {:.2}x",
                ours.as_secs_f64(),
                theirs.as_secs_f64(),
                ours.as_secs_f64() / theirs.as_secs_f64()
            ),
            None => println!(
                "{EVENTS} emits ({kind}): workflow {:.2} s (nats-py unavailable)",
                ours.as_secs_f64()
            ),
        }
    }
}

/// Publish → listen completed: nats-py prints when its event reached the server; the run's
/// `--events` file says when the listen task completed (both wall clocks of this machine).
fn latency(dir: &Path, peer: &Path) {
    let mut samples = Vec::new();
    for round in 0..LATENCY_SAMPLES {
        let subject = format!("bench.latency.{}.{round}", std::process::id());
        let body = format!(
            "do:\n  - wait:\n      listen:\n        to:\n          one:\n            with: {{type: {subject}}}\n"
        );
        let file = write(dir, "listen.yaml", &document("latency", &body));
        let events = dir.join(format!("events-{round}.jsonl"));
        let events_arg = events.display().to_string();
        let Ok(mut child) = workflow(dir, &file, &["--events", &events_arg]).spawn() else {
            return;
        };
        let waited = Command::new("python3")
            .arg(peer)
            .args(["wait-consumer", &subject, "60"])
            .status();
        if !waited.is_ok_and(|s| s.success()) {
            let _ = child.kill();
            continue;
        }
        let event = format!(
            "{{\"specversion\":\"1.0\",\"id\":\"{round}\",\"source\":\"https://bench.example\",\"type\":\"{subject}\",\"data\":{{}}}}"
        );
        let published = Command::new("python3")
            .arg(peer)
            .args(["publish", &subject, &event])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            });
        let _ = child.wait();
        if let (Some(published), Some(completed)) = (published, listen_completed(&events)) {
            samples.push(Duration::from_secs_f64((completed - published).max(0.0)));
        }
    }
    if samples.is_empty() {
        println!("latency: no sample (nats-py unavailable?)");
        return;
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "NATS JetStream: event on the server -> listen task completed (journal on): p50 {:.2} ms, p99 {:.2} ms over {} samples",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples.len(),
    );
}

/// POST → listen completed over `--receive`: the wall clock just before the POST that was
/// answered 202 (earlier ones got 503 while the listen was not waiting yet), and the `completed`
/// event's time in `--events`.
fn receive_latency(dir: &Path) {
    let mut samples = Vec::new();
    for round in 0..LATENCY_SAMPLES {
        let event_type = format!("bench.receive.{}.{round}", std::process::id());
        let body = format!(
            "do:\n  - wait:\n      listen:\n        to:\n          one:\n            with: {{type: {event_type}}}\n"
        );
        let file = write(dir, "receive.yaml", &document("receive", &body));
        let events = dir.join(format!("receive-{round}.jsonl"));
        let events_arg = events.display().to_string();
        let Some(addr) = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()
            .map(|a| a.to_string())
        else {
            return;
        };
        // No broker: the receiver alone (plus the in-process bus).
        let Ok(mut child) = Command::new(BINARY)
            .arg("run")
            .arg(&file)
            .args([
                "--format",
                "json",
                "--progress",
                "none",
                "--events",
                &events_arg,
            ])
            .args(["--receive", &addr])
            .env("WORKFLOW_STATE_DIR", dir.join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return;
        };
        let event = format!(
            "{{\"specversion\":\"1.0\",\"id\":\"{round}\",\"source\":\"https://bench.example\",\"type\":\"{event_type}\",\"data\":{{}}}}"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut sent = None;
        while Instant::now() < deadline {
            let at = epoch_seconds();
            if post(&addr, &event) == Some(202) {
                sent = Some(at);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let Some(sent) = sent else {
            let _ = child.kill();
            continue;
        };
        let _ = child.wait();
        if let Some(completed) = listen_completed(&events) {
            samples.push(Duration::from_secs_f64((completed - sent).max(0.0)));
        }
    }
    if samples.is_empty() {
        println!("receive latency: no sample");
        return;
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "--receive: POST sent -> listen task completed (journal on): p50 {:.2} ms, p99 {:.2} ms over {} samples",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples.len(),
    );
}

fn epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// One structured-mode POST over a plain socket; the status code.
fn post(addr: &str, event: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/cloudevents+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
        event.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// The `time` of the listen task's `completed` event, in seconds since the epoch.
fn listen_completed(events: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(events).ok()?;
    text.lines().find_map(|line| {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        if event["type"] != "io.serverlessworkflow.task.completed.v1" {
            return None;
        }
        let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str()?).ok()?;
        Some(time.timestamp_micros() as f64 / 1e6)
    })
}

fn timed(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}
