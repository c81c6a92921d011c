//! HTTP benchmarks of the real `workflow` binary against a local axum server (127.0.0.1):
//! 1,000 sequential `call: http` GETs beside a plain reqwest loop making the same requests in
//! the same run (target: within 1.3×), and a `fork` of 100 branches each calling an endpoint
//! that answers after 200 ms (target: under 0.5 s). Run with `cargo bench --bench http`.
//!
//! The plain loop runs in a process of its own (this benchmark started again with
//! `--reqwest-loop URL`), as the workflow does: both sides then include a process start and
//! their client's set-up, and both talk to the server across processes. The loop is also timed
//! inside the server's process, for reference only: there, switching between the client and the
//! server threads never changes address space, which made it faster on the development machine
//! (about 35 ms) than the same loop in a process of its own (42 to 90 ms) ever was.
//! Runs go with `--no-journal`: the run journal's disk writes are not what is measured here.

#[path = "../tests/integration/support/http_server.rs"]
mod http_server;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::Path as UrlPath;
use axum::routing::get;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");
const REQUESTS: usize = 1000;
const BRANCHES: usize = 100;
const RUNS: usize = 7;

/// The argument that makes this benchmark run only the plain loop (the child process).
const LOOP_MODE: &str = "--reqwest-loop";

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some(LOOP_MODE) {
        let base = args.next().unwrap_or_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(reqwest_loop(&base));
        }
        return;
    }
    let server = http_server::serve(
        axum::Router::new()
            .route(
                "/item/{n}",
                get(|UrlPath(n): UrlPath<u64>| async move { Json(json!({"n": n, "ok": true})) }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Json(json!({"ok": true}))
                }),
            ),
    );
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("cannot create a temporary directory: {error}");
            return;
        }
    };

    let sequential = dir.path().join("sequential.yaml");
    write(&sequential, &sequential_document(&server.url("/item/")));
    let fork = dir.path().join("fork.yaml");
    write(&fork, &fork_document(&server.url("/slow")));

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            return;
        }
    };
    let base = server.url("/item/");
    let mut workflow_times = Vec::new();
    let mut reqwest_times = Vec::new();
    let mut in_process_times = Vec::new();
    // Warm-up of every side, then alternate them so drift affects all alike.
    let _ = run_workflow(&sequential);
    let _ = run_reqwest_process(&base);
    let _ = runtime.block_on(reqwest_loop(&base));
    for _ in 0..RUNS {
        workflow_times.push(run_workflow(&sequential));
        reqwest_times.push(run_reqwest_process(&base));
        in_process_times.push(runtime.block_on(reqwest_loop(&base)));
    }
    let mut fork_times: Vec<Duration> = (0..RUNS).map(|_| run_workflow(&fork)).collect();

    let workflow = median(&mut workflow_times);
    let plain = median(&mut reqwest_times);
    let in_process = median(&mut in_process_times);
    let forked = median(&mut fork_times);
    let ratio = workflow.as_secs_f64() / plain.as_secs_f64().max(f64::EPSILON);
    println!("\n{:<58} {:>10}", "benchmark (median of 7)", "time");
    println!(
        "{:<58} {:>8.1}ms",
        format!("workflow: {REQUESTS} sequential call: http GETs"),
        millis(workflow)
    );
    println!(
        "{:<58} {:>8.1}ms",
        format!("plain reqwest loop, own process: the same {REQUESTS} GETs"),
        millis(plain)
    );
    println!(
        "{:<58} {:>9.2}×  (target ≤ 1.3×)",
        "ratio workflow / reqwest", ratio
    );
    println!(
        "{:<58} {:>8.1}ms  (reference only)",
        "same loop inside the server's process",
        millis(in_process)
    );
    println!(
        "{:<58} {:>8.1}ms  (target < 500 ms)",
        format!("workflow: fork of {BRANCHES} branches, each a 200 ms GET"),
        millis(forked)
    );
}

fn sequential_document(base: &str) -> String {
    format!(
        r#"document:
  dsl: '1.0.3'
  namespace: bench
  name: sequential-gets
  version: '1.0.0'
do:
  - loop:
      for:
        in: '[range({REQUESTS})]'
      do:
        - get:
            call: http
            with:
              method: get
              endpoint: '${{ "{base}\($item)" }}'
"#
    )
}

fn fork_document(url: &str) -> String {
    let mut text = String::from(
        "document:\n  dsl: '1.0.3'\n  namespace: bench\n  name: fork-gets\n  version: '1.0.0'\ndo:\n  - fan:\n      fork:\n        branches:\n",
    );
    for branch in 0..BRANCHES {
        text.push_str(&format!(
            "          - b{branch}:\n              call: http\n              with:\n                method: get\n                endpoint: {url}\n"
        ));
    }
    text
}

fn write(path: &Path, text: &str) {
    if let Err(error) = std::fs::write(path, text) {
        eprintln!("cannot write {}: {error}", path.display());
    }
}

/// Wall time of one `workflow run` process; a failed run is reported and counted as is.
fn run_workflow(file: &Path) -> Duration {
    let started = Instant::now();
    let output = Command::new(BINARY)
        .arg("run")
        .arg(file)
        .args(["--format", "json", "--progress", "none", "--no-journal"])
        .stderr(Stdio::inherit())
        .output();
    let elapsed = started.elapsed();
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => eprintln!(
            "run of {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&output.stdout)
        ),
        Err(error) => eprintln!("cannot start {BINARY}: {error}"),
    }
    elapsed
}

/// Wall time of the plain loop in a process of its own: this benchmark started again.
fn run_reqwest_process(base: &str) -> Duration {
    let started = Instant::now();
    let status = std::env::current_exe().and_then(|this| {
        Command::new(this)
            .args([LOOP_MODE, base])
            .stdout(Stdio::null())
            .status()
    });
    let elapsed = started.elapsed();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("the reqwest loop process failed: {status}"),
        Err(error) => eprintln!("cannot start the reqwest loop process: {error}"),
    }
    elapsed
}

/// The same requests from a plain reqwest client: build it, GET each URL, parse the JSON.
async fn reqwest_loop(base: &str) -> Duration {
    let started = Instant::now();
    let client = match reqwest::Client::builder().build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build a reqwest client: {error}");
            return started.elapsed();
        }
    };
    for n in 0..REQUESTS {
        let response = client.get(format!("{base}{n}")).send().await;
        match response {
            Ok(response) => {
                if let Err(error) = response.json::<Value>().await {
                    eprintln!("reqwest loop: {error}");
                }
            }
            Err(error) => eprintln!("reqwest loop: {error}"),
        }
    }
    started.elapsed()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
