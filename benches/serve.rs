//! `workflow serve` under many short runs: 10,000 runs started through the API by 16 concurrent
//! clients (`POST .../runs`, answered once the run is recorded). Prints the runs started per
//! second, the p50/p99 latency of those requests, the time until every run completed, and the
//! server's resident memory every 1,000 runs (flat memory: the last samples stay near the
//! first). Run with `cargo bench --bench serve`; prints figures, asserts nothing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow");
const RUNS: usize = 10_000;
const CLIENTS: usize = 16;

fn main() {
    let dir = std::env::temp_dir().join(format!("workflow-bench-serve-{}", std::process::id()));
    let flows = dir.join("wf");
    if let Err(error) = std::fs::create_dir_all(&flows) {
        eprintln!("cannot create {}: {error}", flows.display());
        return;
    }
    let document = "document: {dsl: '1.0.3', namespace: bench, name: short, version: '1.0.0'}\n\
                    do:\n  - one: {set: {a: '${ .n }'}}\n  - two: {set: {b: '${ .a + 1 }'}}\n";
    if let Err(error) = std::fs::write(flows.join("short.yaml"), document) {
        eprintln!("cannot write the workflow: {error}");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18089);
    let child = Command::new(BINARY)
        .args(["serve", "--workflows"])
        .arg(&flows)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--max-concurrent-runs",
            "32",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            eprintln!("cannot start serve: {error}");
            return;
        }
    };
    let pid = child.id();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{error}");
            return;
        }
    };
    runtime.block_on(measure(port, pid));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The process's resident memory, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs that ended, from `/metrics`.
async fn ended(client: &reqwest::Client, base: &str) -> usize {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => return 0,
    };
    text.lines()
        .filter(|line| line.starts_with("workflow_runs_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<usize>().ok())
        .sum()
}

async fn measure(port: u16, pid: u32) {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        if Instant::now() > ready {
            eprintln!("serve did not answer");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("{base}/api/v1/workflows/bench/short/1.0.0/runs");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut memory = vec![(0usize, rss_mib(pid))];
    let sampler = {
        let next = Arc::clone(&next);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut mark = 1000;
            while mark <= RUNS {
                if next.load(Ordering::Relaxed) >= mark {
                    samples.push((mark, rss_mib(pid)));
                    mark += 1000;
                } else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            samples
        })
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= RUNS {
                        break;
                    }
                    let sent = Instant::now();
                    let answered = client
                        .post(&url)
                        .body(format!("{{\"n\": {n}}}"))
                        .send()
                        .await;
                    if matches!(&answered, Ok(response) if response.status().as_u16() == 201) {
                        latencies.push(sent.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    memory.extend(sampler.await.unwrap_or_default());
    while ended(&client, &base).await < latencies.len() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_done = started.elapsed();
    memory.push((RUNS + 1, rss_mib(pid)));
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{} runs started through the API by {CLIENTS} clients in {:.2} s: {:.0} runs/s; \
         every run completed after {:.2} s",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        all_done.as_secs_f64()
    );
    println!(
        "POST .../runs latency: p50 {:.2} ms, p99 {:.2} ms",
        at(0.50),
        at(0.99)
    );
    let samples: Vec<String> = memory
        .iter()
        .map(|(runs, mib)| match *runs {
            0 => format!("start {mib:.1}"),
            n if n > RUNS => format!("all completed {mib:.1}"),
            n => format!("{n} {mib:.1}"),
        })
        .collect();
    println!("server RSS (MiB) by runs started: {}", samples.join(", "));
}
