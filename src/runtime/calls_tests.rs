//! Engine tests of `call: mcp` and `call: a2a` with scripted fake clients: what the engine hands
//! the executor (every expression evaluated, messages defaulted), how it judges the answer (a
//! tool's `isError`), and the call's own timeout on paused time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::error::{ErrorKind, WorkflowError};
use super::event::NoEvents;
use super::test_support::{doc, machine, no_processes};
use super::{Outcome, RunOptions, run};
use crate::host::Executors;
use crate::host::effects::a2a::{A2aAgent, A2aClient, A2aRequest};
use crate::host::effects::mcp::{McpClient, McpRequest, McpServer};

type Answer<R> = Box<dyn Fn(&R) -> Option<Result<Value, WorkflowError>> + Send + Sync>;

/// Records requests and answers each with `answer`; `None` never answers.
struct Fake<R> {
    requests: Mutex<Vec<R>>,
    answer: Answer<R>,
}

impl<R: Clone> Fake<R> {
    fn new(
        answer: impl Fn(&R) -> Option<Result<Value, WorkflowError>> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Fake {
            requests: Mutex::new(Vec::new()),
            answer: Box::new(answer),
        })
    }

    fn requests(&self) -> Vec<R> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn respond(&self, request: R) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        let answer = (self.answer)(&request);
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request);
        }
        Box::pin(async move {
            match answer {
                Some(answer) => answer,
                None => futures::future::pending().await,
            }
        })
    }
}

impl McpClient for Fake<McpRequest> {
    fn call(&self, request: McpRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        self.respond(request)
    }
}

impl A2aClient for Fake<A2aRequest> {
    fn call(&self, request: A2aRequest) -> BoxFuture<'static, Result<Value, WorkflowError>> {
        self.respond(request)
    }
}

async fn outcome(yaml: &str, input: Value, executors: Executors) -> Outcome {
    run(
        machine(&doc(yaml)),
        input,
        RunOptions::default(),
        executors,
        Arc::new(NoEvents),
    )
    .await
    .outcome
}

#[tokio::test]
async fn an_mcp_call_is_evaluated_before_the_client_sees_it() {
    let fake =
        Fake::new(|_: &McpRequest| Some(Ok(json!({"content": [{"type": "text", "text": "ok"}]}))));
    let executors = Executors {
        mcp: fake.clone(),
        ..no_processes()
    };
    let yaml = r#"use:
  secrets: [token]
do:
  - tool:
      call: mcp
      with:
        method: tools/call
        parameters:
          name: '${ .tool }'
          arguments: { n: '${ .n + 1 }' }
        transport:
          stdio:
            command: '${ .server }'
            arguments: [--flag, '${ .n | tostring }']
            environment:
              TOKEN: '${ $secrets.token }'
"#;
    let options = RunOptions {
        secrets: [("token".to_owned(), json!("t0k"))].into_iter().collect(),
        ..RunOptions::default()
    };
    let result = run(
        machine(&doc(yaml)),
        json!({"tool": "search", "n": 41, "server": "srv"}),
        options,
        executors,
        Arc::new(NoEvents),
    )
    .await;
    assert!(
        matches!(result.outcome, Outcome::Completed(_)),
        "{:?}",
        result.outcome
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "tools/call");
    assert_eq!(request.protocol_version, "2025-06-18");
    assert_eq!(request.client_name, "workflow");
    assert_eq!(
        request.parameters,
        Some(json!({"name": "search", "arguments": {"n": 42}}))
    );
    assert_eq!(
        request.server,
        McpServer::Stdio {
            command: "srv".into(),
            arguments: vec!["--flag".into(), "41".into()],
            environment: vec![("TOKEN".into(), "t0k".into())],
        }
    );
}

#[tokio::test]
async fn a_tool_error_faults_the_task_and_a_json_rpc_error_passes_through() {
    let failing = Fake::new(|_: &McpRequest| {
        Some(Ok(
            json!({"content": [{"type": "text", "text": "disk full"}], "isError": true}),
        ))
    });
    let yaml = "do:\n  - tool:\n      call: mcp\n      with:\n        method: tools/call\n        parameters: { name: save }\n        transport:\n          http:\n            endpoint: http://127.0.0.1:1/mcp\n";
    let outcome_of = |fake: Arc<Fake<McpRequest>>| {
        outcome(
            yaml,
            json!({}),
            Executors {
                mcp: fake,
                ..no_processes()
            },
        )
    };
    let Outcome::Faulted(error) = outcome_of(failing).await else {
        panic!("a tool error completed");
    };
    assert!(error.type_.ends_with("/runtime"));
    assert_eq!(error.detail.as_deref(), Some("disk full"));
    assert_eq!(error.instance.as_deref(), Some("/do/0/tool"));
    let refused = Fake::new(|_: &McpRequest| {
        Some(Err(WorkflowError::new(
            ErrorKind::Runtime,
            "MCP server returned an error",
        )
        .with_detail("unknown tool")))
    });
    let Outcome::Faulted(error) = outcome_of(refused.clone()).await else {
        panic!("completed");
    };
    assert_eq!(error.detail.as_deref(), Some("unknown tool"));
    assert!(
        matches!(&refused.requests()[0].server, McpServer::Http { url, .. } if url == "http://127.0.0.1:1/mcp")
    );
}

#[tokio::test(start_paused = true)]
async fn the_calls_own_timeout_stops_a_silent_server() {
    let silent = Fake::new(|_: &McpRequest| None);
    let yaml = "do:\n  - tool:\n      call: mcp\n      with:\n        method: tools/list\n        timeout: { seconds: 5 }\n        transport:\n          stdio: { command: srv }\n";
    let started = tokio::time::Instant::now();
    let Outcome::Faulted(error) = outcome(
        yaml,
        json!({}),
        Executors {
            mcp: silent,
            ..no_processes()
        },
    )
    .await
    else {
        panic!("a silent server completed");
    };
    assert!(error.type_.ends_with("/timeout"), "{error:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn an_a2a_message_gets_an_id_and_a_role_and_its_result_is_the_output() {
    let fake = Fake::new(|_: &A2aRequest| Some(Ok(json!({"kind": "task", "id": "t1"}))));
    let yaml = "do:\n  - ask:\n      call: a2a\n      with:\n        method: message/send\n        agentCard:\n          endpoint: '${ .card }'\n        parameters:\n          message:\n            parts: [{kind: text, text: '${ .text }'}]\n";
    let executors = Executors {
        a2a: fake.clone(),
        ..no_processes()
    };
    let Outcome::Completed(output) = outcome(
        yaml,
        json!({"card": "http://127.0.0.1:1/.well-known/agent-card.json", "text": "hello"}),
        executors,
    )
    .await
    else {
        panic!("faulted");
    };
    assert_eq!(output, json!({"kind": "task", "id": "t1"}));
    let request = &fake.requests()[0];
    assert!(
        matches!(&request.agent, A2aAgent::Card { location, credentials: None } if location.as_str() == "http://127.0.0.1:1/.well-known/agent-card.json")
    );
    let message = &request.params["message"];
    assert_eq!(message["role"], "user");
    assert_eq!(message["parts"], json!([{"kind": "text", "text": "hello"}]));
    assert!(
        message["messageId"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
}

#[tokio::test]
async fn parameters_built_by_one_expression_are_checked_when_the_task_runs() {
    let fake = Fake::new(|_: &A2aRequest| Some(Ok(json!({}))));
    let yaml = "do:\n  - ask:\n      call: a2a\n      with:\n        method: tasks/get\n        server: http://127.0.0.1:1/\n        parameters: '${ {taskId: .id} }'\n";
    let Outcome::Faulted(error) = outcome(
        yaml,
        json!({"id": "x"}),
        Executors {
            a2a: fake.clone(),
            ..no_processes()
        },
    )
    .await
    else {
        panic!("completed");
    };
    assert!(error.type_.ends_with("/validation"));
    assert_eq!(
        error.detail.as_deref(),
        Some("`tasks/get` needs `parameters` with `id`")
    );
    assert!(fake.requests().is_empty());
}
