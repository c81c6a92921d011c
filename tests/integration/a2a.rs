//! `call: a2a` through the real binary against an agent built with the official A2A SDK
//! (`a2a-sdk`, JSON-RPC): the agent card fetched and followed, `message/send`, `message/stream`
//! (every event, in order), `tasks/get` with an id from an earlier task, a JSON-RPC error, and
//! a card whose `security` requires a bearer token.

use std::path::{Path, PathBuf};

use crate::support::peer::Peer;
use crate::support::procs::Run;
use crate::support::services::{self, Need};
use crate::support::{document, tempdir, write};
use workflow::exit_code::ExitCode;

fn agent_script() -> PathBuf {
    services::peers_dir().join("a2a/report_agent.py")
}

fn ready(test: &str) -> bool {
    services::ready(
        test,
        &[
            Need::program("python3"),
            Need::python("a2a.server.apps"),
            Need::python("uvicorn"),
        ],
    )
}

fn flow(dir: &Path, body: &str) -> PathBuf {
    write(dir, "flow.yaml", &document("test", "a2a", "1.0.0", body))
}

#[test]
fn an_agent_found_by_its_card_reports_sends_streams_and_is_asked_again() {
    if !ready("a2a::an_agent_found_by_its_card") {
        return;
    }
    let agent = Peer::start("python3", &[&agent_script()], &[]);
    let dir = tempdir();
    let card = format!("{}/.well-known/agent-card.json", agent.base());
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - topic:\n      set:\n        text: Q1 sales\n  - send:\n      call: a2a\n      with:\n        method: message/send\n        agentCard:\n          endpoint: {card}\n        parameters:\n          message:\n            parts:\n              - kind: text\n                text: ${{ .text }}\n      export:\n        as: '${{ {{task: .}} }}'\n  - stream:\n      call: a2a\n      with:\n        method: message/stream\n        server: {base}/\n        parameters:\n          message:\n            parts: [{{kind: text, text: streamed}}]\n      export:\n        as: '${{ $context + {{events: [.[].kind], final: .[-1].final, report: [.[] | select(.kind == \"artifact-update\") | .artifact.parts[0].text]}} }}'\n  - again:\n      call: a2a\n      with:\n        method: tasks/get\n        agentCard:\n          endpoint: {card}\n        parameters:\n          id: ${{ $context.task.id }}\n      output:\n        as: '${{ $context + {{again: {{state: .status.state, id: .id}}}} }}'\n",
            base = agent.base()
        ),
    );
    let output = Run::new(&file, &[]).go().output();
    let task = &output["task"];
    assert_eq!(task["kind"], "task", "{output}");
    assert_eq!(task["status"]["state"], "completed", "{output}");
    assert_eq!(
        task["artifacts"][0]["parts"][0]["text"], "Report: Q1 sales",
        "{output}"
    );
    // The runtime filled in the message's id and role.
    let sent = &task["history"][0];
    assert_eq!(sent["role"], "user", "{output}");
    assert!(
        sent["messageId"].as_str().is_some_and(|id| id.len() == 36),
        "{output}"
    );
    assert_eq!(
        output["events"],
        serde_json::json!(["task", "status-update", "artifact-update", "status-update"]),
        "{output}"
    );
    assert_eq!(output["final"], true);
    assert_eq!(output["report"], serde_json::json!(["Report: streamed"]));
    assert_eq!(output["again"]["state"], "completed");
    assert_eq!(output["again"]["id"], task["id"]);
}

#[test]
fn a_json_rpc_error_is_a_runtime_error_with_its_message() {
    if !ready("a2a::a_json_rpc_error_is_a_runtime_error") {
        return;
    }
    let agent = Peer::start("python3", &[&agent_script()], &[]);
    let dir = tempdir();
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - lost:\n      call: a2a\n      with:\n        method: tasks/get\n        server: {}/\n        parameters:\n          id: no-such-task\n",
            agent.base()
        ),
    );
    let ran = Run::new(&file, &[]).go();
    assert_eq!(ran.code, ExitCode::Faulted as i32);
    let error = ran.error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
        "{error}"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Task not found") && d.contains("-32001")),
        "{error}"
    );
}

#[test]
fn a_card_requiring_a_bearer_token_gets_the_tasks_secret_and_nothing_leaks() {
    if !ready("a2a::a_card_requiring_a_bearer_token") {
        return;
    }
    let token = "agent-token-27182";
    let agent = Peer::start("python3", &[&agent_script()], &[("AGENT_TOKEN", token)]);
    let dir = tempdir();
    let card = format!("{}/.well-known/agent-card.json", agent.base());
    let without = flow(
        dir.path(),
        &format!(
            "do:\n  - ask:\n      call: a2a\n      with:\n        method: message/send\n        agentCard:\n          endpoint: {card}\n        parameters:\n          message:\n            parts: [{{kind: text, text: hi}}]\n"
        ),
    );
    let error = Run::new(&without, &[]).go().error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/authentication",
        "{error}"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`bearer`")),
        "{error}"
    );
    let with = flow(
        dir.path(),
        &format!(
            "use:\n  secrets: [agentToken]\ndo:\n  - ask:\n      call: a2a\n      with:\n        method: message/send\n        agentCard:\n          endpoint:\n            uri: {card}\n            authentication:\n              bearer:\n                token: ${{ $secrets.agentToken }}\n        parameters:\n          message:\n            parts: [{{kind: text, text: secret plans}}]\n"
        ),
    );
    let ran = Run::new(&with, &[])
        .env("WORKFLOW_SECRET_agentToken", token)
        .go();
    let output = ran.output();
    assert_eq!(
        output["artifacts"][0]["parts"][0]["text"], "Report: secret plans",
        "{output}"
    );
    assert!(!ran.stdout.contains(token) && !ran.stderr.contains(token));
}

#[test]
fn the_bundled_example_lists_tools_calls_one_and_gets_a_report() {
    let everything = services::peers_dir()
        .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !ready("a2a::the_bundled_example")
        || !services::ready(
            "a2a::the_bundled_example",
            &[
                Need::program("node"),
                Need::path(
                    "the npm peer server-everything",
                    everything.display().to_string(),
                ),
            ],
        )
    {
        return;
    }
    let agent = Peer::start("python3", &[&agent_script()], &[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = format!(r#"{{"agent": "{}", "a": 3, "b": 4}}"#, agent.base());
    let output = Run::new(
        &root.join("workflows/mcp-a2a-report.yaml"),
        &["--input", &input],
    )
    .dir(root)
    .go()
    .output();
    assert!(
        output["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|n| n == "get-sum")),
        "{output}"
    );
    assert!(
        output["sum"].as_str().is_some_and(|s| s.contains('7')),
        "{output}"
    );
    assert_eq!(output["state"], "completed", "{output}");
    let report = output["report"].as_str().unwrap_or_default();
    assert!(
        report.starts_with("Report: The server offers ") && report.contains('7'),
        "{output}"
    );
}
