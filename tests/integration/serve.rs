//! `workflow serve`: the real binary serving a directory, driven over HTTP. API round trip
//! (workflows, runs with `wait`, input schema, list/get, logs, SSE events, cancel, resume,
//! retry, OpenAPI, metrics, reload), the token, `every` firing with a lease shared by two
//! servers, `schedule.on` through the ingress and through NATS, kill -9 + restart resuming
//! without repeating a finished step, SIGTERM's grace, and `--max-concurrent-runs` queueing.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::events::{nats_ready, publish, unique, wait_for_listener};
use crate::support::{BINARY, document, tempdir, write};

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A running `workflow serve`, killed when dropped.
struct Server {
    child: Option<Child>,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `serve --workflows DIR/wf --state-dir DIR/state` and waits (bounded) until it
    /// answers `/healthz`.
    fn start(dir: &Path, args: &[&str]) -> Server {
        let port = free_port();
        let log = dir.join(format!("serve-{port}.log"));
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(BINARY)
            .current_dir(dir)
            .args(["serve", "--workflows"])
            .arg(dir.join("wf"))
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--reload-interval", "100"])
            .args(args)
            .env_remove("WORKFLOW_BROKER")
            .env_remove("WORKFLOW_TOKEN")
            .env_remove("K_SINK")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let server = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.until("the server answers", Duration::from_secs(60), || {
            (server.get("/healthz").0 == 200).then_some(())
        });
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let url = format!("{}{path}", self.base);
            let mut request = match method {
                "POST" => client.post(url),
                _ => client.get(url),
            };
            if let Some(body) = body {
                request = request.body(body.to_owned());
            }
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    (status, value)
                }
                Err(_) => (0, Value::Null),
            }
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, None)
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.call("POST", path, Some(body), None)
    }

    /// Polls `probe` every 50 ms until it gives a value; fails the test after `within`.
    fn until<T>(&self, what: &str, within: Duration, probe: impl Fn() -> Option<T>) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = probe() {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}; server log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn run(&self, id: &str) -> Value {
        let (status, run) = self.get(&format!("/api/v1/runs/{id}"));
        assert_eq!(status, 200, "{run}");
        run
    }

    /// Waits until run `id` has `status`.
    fn until_status(&self, id: &str, status: &str) -> Value {
        self.until(
            &format!("run {id} is {status}"),
            Duration::from_secs(60),
            || {
                let run = self.run(id);
                (run["status"] == status).then_some(run)
            },
        )
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit code once it exited (bounded).
    fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: signalling our own child process by its pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn workflows_dir(dir: &Path) -> PathBuf {
    let wf = dir.join("wf");
    std::fs::create_dir_all(&wf).unwrap_or_else(|e| panic!("{e}"));
    wf
}

const GREET: &str = r#"input:
  schema:
    format: json
    document:
      type: object
      required: [name]
      properties: {name: {type: string}}
do:
  - say:
      run:
        shell:
          command: echo "hello $NAME"
          environment:
            NAME: ${ .name }
        return: stdout
  - greet:
      set:
        greeting: ${ "hello " + $workflow.input.name }
"#;

/// Marks each execution of its first task in `marks`, waits, then completes.
fn slow(marks: &Path, seconds: u32) -> String {
    format!(
        r#"do:
  - first:
      run:
        shell:
          command: echo ran >> {}
  - pause:
      wait: {{seconds: {seconds}}}
  - second:
      set: {{done: true}}
"#,
        marks.display()
    )
}

#[test]
fn the_api_round_trip_starts_lists_and_steers_runs() {
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let greet = write(
        &wf,
        "greet.yaml",
        &document("test", "greet", "1.0.0", GREET),
    );
    write(
        &wf,
        "bad.yaml",
        &document("test", "bad", "1.0.0", "do: 3\n"),
    );
    let marks = dir.path().join("marks");
    write(
        &wf,
        "slow.yaml",
        &document("test", "slow", "1.0.0", &slow(&marks, 2)),
    );
    let server = Server::start(dir.path(), &[]);
    assert!(
        server.log().contains("bad.yaml: not a valid workflow"),
        "{}",
        server.log()
    );

    let (status, catalog) = server.get("/api/v1/workflows");
    assert_eq!(status, 200);
    let names: Vec<&str> = catalog["workflows"]
        .as_array()
        .map(|w| w.iter().filter_map(|w| w["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["greet", "slow"]);
    assert_eq!(
        catalog["invalid"][0]["diagnostics"][0]["code"],
        "schema::type"
    );

    // `wait=true` answers what `workflow run --format json` prints.
    let (status, ended) = server.post(
        "/api/v1/workflows/test/greet/1.0.0/runs?wait=true",
        r#"{"name": "Ada"}"#,
    );
    assert_eq!(status, 200, "{ended}");
    let cli = Command::new(BINARY)
        .args([
            "run",
            "--format",
            "json",
            "--no-journal",
            "--input",
            r#"{"name": "Ada"}"#,
        ])
        .arg(&greet)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cli: Value = serde_json::from_slice(&cli.stdout).unwrap_or_else(|e| panic!("{e}"));
    cli["id"] = ended["id"].clone();
    assert_eq!(ended, cli);
    assert_eq!(ended["output"]["greeting"], "hello Ada");
    let id = ended["id"].as_str().unwrap_or_default().to_owned();

    // The input schema is checked before anything is recorded.
    let (status, problem) = server.post("/api/v1/workflows/test/greet/1.0.0/runs", r#"{"nom": 1}"#);
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("name"),
        "{problem}"
    );
    assert_eq!(problem["diagnostics"][0]["status"], 400);
    assert_eq!(
        server
            .post("/api/v1/workflows/test/nope/1.0.0/runs", "{}")
            .0,
        404
    );

    let run = server.run(&id);
    assert_eq!(run["status"], "completed");
    assert_eq!(run["input"], json!({"name": "Ada"}));
    assert_eq!(run["tasks"].as_array().map(Vec::len), Some(2));
    let (_, logs) = server.get(&format!("/api/v1/runs/{id}/logs"));
    assert_eq!(logs["lines"][0]["line"], "hello Ada", "{logs}");
    let (_, listed) = server.get("/api/v1/runs?workflow=test/greet&status=completed&limit=1");
    assert_eq!(listed["runs"][0]["id"], id.as_str());
    assert_eq!(server.get("/api/v1/runs?status=weird").0, 400);

    // Server-Sent Events: the recorded events, then `end`.
    let (status, stream) = server.get(&format!("/api/v1/runs/{id}/events"));
    assert_eq!(status, 200);
    let stream = stream.as_str().unwrap_or_default().to_owned();
    assert!(
        stream.starts_with("id: 1\nevent: started\ndata: {"),
        "{stream}"
    );
    assert!(
        stream.contains("io.serverlessworkflow.workflow.completed.v1"),
        "{stream}"
    );
    assert!(stream.ends_with("event: end\ndata: {}\n\n"), "{stream}");

    // Cancel a running run, resume it under its id, then retry it from a task.
    let (status, started) = server.post("/api/v1/workflows/test/slow/1.0.0/runs", "");
    assert_eq!(status, 201, "{started}");
    let slow_id = started["id"].as_str().unwrap_or_default().to_owned();
    server.until("the slow run waits", Duration::from_secs(60), || {
        std::fs::read_to_string(&marks)
            .ok()
            .filter(|m| !m.is_empty())
    });
    let (status, cancelling) = server.post(&format!("/api/v1/runs/{slow_id}/cancel"), "");
    assert_eq!((status, &cancelling["status"]), (202, &json!("cancelling")));
    server.until_status(&slow_id, "cancelled");
    let (status, resumed) = server.post(&format!("/api/v1/runs/{slow_id}/resume?wait=true"), "");
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["output"], json!({"done": true}));
    assert_eq!(std::fs::read_to_string(&marks).unwrap_or_default(), "ran\n");
    let (status, again) = server.post(&format!("/api/v1/runs/{slow_id}/resume"), "");
    assert_eq!(status, 409, "{again}");
    let (status, retried) = server.post(
        &format!("/api/v1/runs/{slow_id}/retry?wait=true"),
        r#"{"from": "second"}"#,
    );
    assert_eq!(status, 200, "{retried}");
    assert_ne!(retried["id"], slow_id.as_str());
    assert_eq!(
        server.run(retried["id"].as_str().unwrap_or_default())["parent"]["id"],
        slow_id.as_str()
    );
    assert_eq!(std::fs::read_to_string(&marks).unwrap_or_default(), "ran\n");

    let (status, openapi) = server.get("/api/v1/openapi.json");
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/api/v1/runs/{id}/retry"]["post"].is_object());
    let (_, metrics) = server.get("/metrics");
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics
            .contains("workflow_runs_total{workflow=\"test/greet/1.0.0\",status=\"completed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("workflow_runs_total{workflow=\"test/slow/1.0.0\",status=\"cancelled\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("workflow_queue_depth 0"), "{metrics}");
    assert!(
        metrics.contains("workflow_task_duration_seconds_count{workflow=\"test/greet/1.0.0\"} 2"),
        "{metrics}"
    );
    let (status, page) = server.get("/");
    assert_eq!(status, 200);
    assert!(
        page.as_str()
            .unwrap_or_default()
            .contains("<title>workflow serve</title>")
    );

    // A changed directory is loaded again without a restart.
    write(
        &wf,
        "bad.yaml",
        &document("test", "fixed", "1.0.0", "do:\n  - a: {set: {a: 1}}\n"),
    );
    server.until(
        "the fixed document is served",
        Duration::from_secs(60),
        || {
            let (_, catalog) = server.get("/api/v1/workflows");
            (catalog["invalid"] == json!([])
                && catalog["workflows"].as_array().map(Vec::len) == Some(3))
            .then_some(())
        },
    );
    let (status, fixed) = server.post("/api/v1/workflows/test/fixed/1.0.0/runs?wait=true", "");
    assert_eq!((status, &fixed["output"]), (200, &json!({"a": 1})));
}

#[test]
fn off_loopback_a_token_is_required_and_checked() {
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    write(
        &wf,
        "a.yaml",
        &document("test", "a", "1.0.0", "do:\n  - a: {set: {a: 1}}\n"),
    );
    let refused = Command::new(BINARY)
        .args(["serve", "--workflows"])
        .arg(&wf)
        .args(["--listen", "0.0.0.0:0"])
        .env_remove("WORKFLOW_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a loopback address"));
    let server = Server::start(dir.path(), &["--token", "s3cret-token"]);
    let (status, problem) = server.get("/api/v1/workflows");
    assert_eq!(status, 401, "{problem}");
    assert_eq!(
        server
            .call("GET", "/api/v1/workflows", None, Some("wrong"))
            .0,
        401
    );
    // Every route but the page, its script, /healthz and the API's description is guarded.
    for (method, path) in [
        ("GET", "/metrics"),
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v1/runs/some-id/graph"),
        ("POST", "/api/v1/runs/some-id/cancel"),
        ("POST", "/api/v1/events"),
    ] {
        let (status, problem) = server.call(method, path, None, None);
        assert_eq!(status, 401, "{method} {path}: {problem}");
    }
    for open in ["/", "/assets/mermaid.min.js", "/api/v1/openapi.json"] {
        assert_eq!(server.get(open).0, 200, "{open}");
    }
    let (status, catalog) = server.call("GET", "/api/v1/workflows", None, Some("s3cret-token"));
    assert_eq!(status, 200);
    assert_eq!(catalog["workflows"][0]["name"], "a");
    assert_eq!(server.get("/healthz").0, 200);
}

/// The run ids of `workflow` the API lists.
fn run_ids(server: &Server, workflow: &str) -> Vec<String> {
    let (_, listed) = server.get(&format!("/api/v1/runs?workflow={workflow}&limit=1000"));
    listed["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_fires_each_period_and_two_servers_fire_each_tick_once() {
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let body = "schedule:\n  every: {seconds: 1}\ndo:\n  - t: {set: {ticked: true}}\n";
    write(&wf, "tick.yaml", &document("test", "tick", "1.0.0", body));
    let first = Server::start(dir.path(), &[]);
    let (_, catalog) = first.get("/api/v1/workflows");
    assert!(
        catalog["workflows"][0]["nextFireAt"].is_string(),
        "{catalog}"
    );
    let second = Server::start(dir.path(), &[]);
    let ids = first.until("four ticks fired", Duration::from_secs(60), || {
        let ids = run_ids(&first, "test/tick");
        (ids.len() >= 4).then_some(ids)
    });
    for id in &ids {
        first.until_status(id, "completed");
    }
    drop(second);
    drop(first);
    // Every run belongs to one claimed tick: no tick fired on both servers.
    let db = dir.path().join("state/journal.db");
    let connection = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let count = |sql: &str| -> i64 {
        connection
            .query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let runs = count("SELECT count(*) FROM runs WHERE name = 'tick'");
    let ticks = count("SELECT count(*) FROM schedule_ticks WHERE workflow = 'test/tick/1.0.0'");
    assert_eq!(runs, ticks);
    assert!(runs >= 4);
}

const ON_ORDERS: &str = r#"schedule:
  on:
    all:
      - with: {type: PAID}
        correlate: {order: {from: .data.order}}
      - with: {type: SHIPPED}
        correlate: {order: {from: .data.order}}
do:
  - summary:
      set:
        count: ${ length }
        orders: ${ map(.data.order) }
        types: ${ map(.type) }
"#;

fn event(kind: &str, order: u32) -> String {
    json!({
        "specversion": "1.0", "id": format!("{kind}-{order}"), "source": "https://sender.example",
        "type": kind, "data": {"order": order},
    })
    .to_string()
}

#[test]
fn schedule_on_starts_a_run_with_the_correlated_events_posted_to_the_ingress() {
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let body = ON_ORDERS
        .replace("PAID", "com.example.paid")
        .replace("SHIPPED", "com.example.shipped");
    write(
        &wf,
        "orders.yaml",
        &document("test", "orders", "1.0.0", &body),
    );
    let server = Server::start(dir.path(), &[]);
    let structured = |body: &str| server.call("POST", "/api/v1/events", Some(body), None);
    // The HTTP client sends no content type by itself: binary mode needs the `ce-` headers,
    // so structured events go with their content type.
    let post = |body: String| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{}/api/v1/events", server.base))
                .header("content-type", "application/cloudevents+json")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = response.status().as_u16();
            let value: Value = response.json().await.unwrap_or(Value::Null);
            (status, value)
        })
    };
    assert_eq!(structured("not an event").0, 400);
    let (status, taken) = post(event("com.example.paid", 1));
    assert_eq!((status, &taken["runs"]), (202, &json!([])), "{taken}");
    assert_eq!(post(event("com.example.paid", 2)).0, 202);
    // The shipment of order 2 completes order 2's group, not order 1's.
    let (status, taken) = post(event("com.example.shipped", 2));
    assert_eq!(status, 202, "{taken}");
    let id = taken["runs"][0].as_str().unwrap_or_default().to_owned();
    let run = server.until_status(&id, "completed");
    assert_eq!(
        run["output"],
        json!({"count": 2, "orders": [2, 2], "types": ["com.example.paid", "com.example.shipped"]})
    );
    assert_eq!(run["input"][0]["id"], "com.example.paid-2");
    let (status, refused) = post(event("com.example.other", 1));
    assert_eq!(status, 503, "{refused}");
    assert_eq!(run_ids(&server, "test/orders").len(), 1);
}

#[test]
fn schedule_on_takes_events_from_nats() {
    if !nats_ready("schedule_on_takes_events_from_nats") {
        return;
    }
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let paid = unique("serve.paid");
    let shipped = unique("serve.shipped");
    let body = ON_ORDERS
        .replace("PAID", &paid)
        .replace("SHIPPED", &shipped);
    write(
        &wf,
        "orders.yaml",
        &document("test", "natsorders", "1.0.0", &body),
    );
    let server = Server::start(dir.path(), &["--broker", "nats://127.0.0.1:4222"]);
    wait_for_listener(&paid);
    publish(&paid, json!({"order": 7}), false);
    publish(&shipped, json!({"order": 7}), true);
    let id = server.until(
        "the NATS events start a run",
        Duration::from_secs(60),
        || run_ids(&server, "test/natsorders").into_iter().next(),
    );
    let run = server.until_status(&id, "completed");
    assert_eq!(run["output"]["orders"], json!([7, 7]));
}

#[test]
fn a_run_interrupted_by_kill_9_is_resumed_by_the_next_start_without_repeating_a_step() {
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let marks = dir.path().join("marks");
    write(
        &wf,
        "slow.yaml",
        &document("test", "slow", "1.0.0", &slow(&marks, 2)),
    );
    let mut server = Server::start(dir.path(), &[]);
    let (status, started) = server.post("/api/v1/workflows/test/slow/1.0.0/runs", "{}");
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap_or_default().to_owned();
    // Killed once the first task completed (its mark is written) and the wait began.
    server.until("the first task completed", Duration::from_secs(60), || {
        let run = server.run(&id);
        (run["tasks"].as_array().map(Vec::len) == Some(2)).then_some(())
    });
    server.kill9();
    let restarted = Server::start(dir.path(), &[]);
    assert!(
        restarted
            .log()
            .contains(&format!("resuming interrupted run {id}")),
        "{}",
        restarted.log()
    );
    let run = restarted.until_status(&id, "completed");
    assert_eq!(run["output"], json!({"done": true}));
    assert_eq!(std::fs::read_to_string(&marks).unwrap_or_default(), "ran\n");
    let replayed = run["tasks"]
        .as_array()
        .map(|tasks| tasks.iter().filter(|t| t["replayed"] == true).count());
    assert_eq!(replayed, Some(1), "{run}");
}

#[test]
fn sigterm_lets_running_runs_end_and_the_excess_waits_in_the_queue() {
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let marks = dir.path().join("marks");
    write(
        &wf,
        "slow.yaml",
        &document("test", "slow", "1.0.0", &slow(&marks, 2)),
    );
    let mut server = Server::start(dir.path(), &["--max-concurrent-runs", "1", "--grace", "30"]);
    let (_, first) = server.post("/api/v1/workflows/test/slow/1.0.0/runs", "{}");
    let (_, second) = server.post("/api/v1/workflows/test/slow/1.0.0/runs", "{}");
    let first = first["id"].as_str().unwrap_or_default().to_owned();
    let second = second["id"].as_str().unwrap_or_default().to_owned();
    server.until_status(&first, "running");
    assert_eq!(server.run(&second)["status"], "queued");
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics
            .as_str()
            .unwrap_or_default()
            .contains("workflow_queue_depth 1"),
        "{metrics}"
    );
    let log = server.log.clone();
    assert_eq!(
        server.terminate(),
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // The running run ended within the grace period; the queued one was left for the next
    // start, which runs it.
    let restarted = Server::start(dir.path(), &[]);
    assert_eq!(restarted.run(&first)["status"], "completed");
    restarted.until_status(&second, "completed");
    assert_eq!(
        std::fs::read_to_string(&marks).unwrap_or_default(),
        "ran\nran\n"
    );
}

#[test]
fn the_web_page_shows_a_run_appear_and_complete_in_a_real_browser() {
    let peers = crate::support::services::peers_dir();
    let needs = [
        crate::support::services::Need::program("/usr/bin/chromium"),
        crate::support::services::Need::path(
            "playwright-core (npm ci in tests/peers)",
            peers
                .join("node_modules/playwright-core")
                .display()
                .to_string(),
        ),
    ];
    if !crate::support::services::ready(
        "the_web_page_shows_a_run_appear_and_complete_in_a_real_browser",
        &needs,
    ) {
        return;
    }
    let dir = tempdir();
    let wf = workflows_dir(dir.path());
    let marks = dir.path().join("marks");
    write(
        &wf,
        "slow.yaml",
        &document("test", "slow", "1.0.0", &slow(&marks, 2)),
    );
    let server = Server::start(dir.path(), &[]);
    let checked = Command::new("node")
        .arg(peers.join("browser/ui_check.js"))
        .args([server.base.as_str(), "test/slow/1.0.0"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        checked.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&checked.stderr),
        server.log()
    );
    let seen: Value = serde_json::from_slice(&checked.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seen["tasks"],
        json!(["completed", "completed", "completed"]),
        "{seen}"
    );
    assert_eq!(seen["output"], json!({"done": true}));
    assert_eq!(
        seen["drawn"],
        json!(3),
        "three task nodes drawn as completed: {seen}"
    );
    let id = seen["id"].as_str().unwrap_or_default();
    assert_eq!(server.run(id)["status"], "completed");
}
