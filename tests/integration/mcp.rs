//! `call: mcp` through the real binary against servers we did not write: the reference server
//! `@modelcontextprotocol/server-everything` (npm) over stdio and Streamable HTTP, and a FastMCP
//! server (the Python SDK) over both; plus a hand-written paging server for `nextCursor`, and
//! plain shell commands for the failure cases (a server that dies, one that hangs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::peer::Peer;
use crate::support::procs::{Run, wait_for};
use crate::support::services::{self, Need};
use crate::support::{document, tempdir, write};
use serde_json::json;
use workflow::exit_code::ExitCode;

fn everything() -> PathBuf {
    services::peers_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

fn fastmcp() -> PathBuf {
    services::peers_dir().join("mcp/fastmcp_server.py")
}

fn everything_ready(test: &str) -> bool {
    services::ready(
        test,
        &[
            Need::program("node"),
            Need::path(
                "the npm peer server-everything (npm ci in tests/peers)",
                everything().display().to_string(),
            ),
        ],
    )
}

fn fastmcp_ready(test: &str) -> bool {
    services::ready(
        test,
        &[Need::program("python3"), Need::python("mcp.server.fastmcp")],
    )
}

fn flow(dir: &Path, body: &str) -> PathBuf {
    write(dir, "flow.yaml", &document("test", "mcp", "1.0.0", body))
}

/// A stdio transport block starting `program` with `args`.
fn stdio(program: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    format!(
        "        transport:\n          stdio:\n            command: {program}\n            arguments: [{}]\n",
        args.join(", ")
    )
}

#[test]
fn the_reference_server_over_stdio_lists_and_calls_tools_with_earlier_output() {
    if !everything_ready("mcp::the_reference_server_over_stdio") {
        return;
    }
    let dir = tempdir();
    let server = everything();
    let transport = stdio("node", &[&server.display().to_string(), "stdio"]);
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - tools:\n      call: mcp\n      with:\n        method: tools/list\n{transport}      export:\n        as: '${{ {{tools: [.tools[].name]}} }}'\n  - words:\n      set:\n        message: hello from a workflow\n  - echo:\n      call: mcp\n      with:\n        method: tools/call\n        parameters:\n          name: echo\n          arguments:\n            message: ${{ .message }}\n{transport}        client:\n          name: workflow-tests\n          version: '9.9.9'\n  - prompts:\n      call: mcp\n      with:\n        method: prompts/get\n        parameters:\n          name: simple-prompt\n{transport}      output:\n        as: '${{ {{echo: $context, prompt: .messages[0].content.text}} }}'\n"
        ),
    );
    let output = Run::new(&file, &[]).go().output();
    let tools: Vec<String> = output["echo"]["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    assert!(
        tools.contains(&"echo".to_owned()) && tools.contains(&"get-sum".to_owned()),
        "{tools:?}"
    );
    assert!(
        output["prompt"].as_str().is_some_and(|t| !t.is_empty()),
        "{output}"
    );
}

#[test]
fn the_reference_server_echoes_what_an_earlier_task_produced() {
    if !everything_ready("mcp::the_reference_server_echoes") {
        return;
    }
    let dir = tempdir();
    let server = everything();
    let transport = stdio("node", &[&server.display().to_string(), "stdio"]);
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - words:\n      set:\n        message: hello from a workflow\n  - echo:\n      call: mcp\n      with:\n        method: tools/call\n        parameters:\n          name: echo\n          arguments:\n            message: ${{ .message }}\n{transport}"
        ),
    );
    let output = Run::new(&file, &[]).go().output();
    assert_eq!(
        output["content"][0]["text"], "Echo: hello from a workflow",
        "{output}"
    );
    assert_ne!(output["isError"], true);
}

#[test]
fn the_reference_server_over_streamable_http_keeps_its_session() {
    if !everything_ready("mcp::the_reference_server_over_streamable_http") {
        return;
    }
    let server = everything();
    let peer = Peer::start("node", &[&server, Path::new("streamableHttp")], &[]);
    let dir = tempdir();
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - sum:\n      call: mcp\n      with:\n        method: tools/call\n        parameters:\n          name: get-sum\n          arguments: {{a: 2, b: 40}}\n        transport:\n          http:\n            endpoint:\n              uri: {}/mcp\n            headers:\n              X-Workflow-Test: yes\n  - templates:\n      call: mcp\n      with:\n        method: resources/templates/list\n        transport:\n          http:\n            endpoint: ${{ \"{}\" + \"/mcp\" }}\n      output:\n        as: '${{ {{sum: $input.content[0].text, templates: [.resourceTemplates[].uriTemplate]}} }}'\n",
            peer.base(),
            peer.base()
        ),
    );
    let output = Run::new(&file, &[]).go().output();
    assert!(
        output["sum"].as_str().is_some_and(|t| t.contains("42")),
        "{output}"
    );
    assert!(
        output["templates"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{output}"
    );
}

#[test]
fn a_fastmcp_server_over_stdio_serves_tools_prompts_and_resources() {
    if !fastmcp_ready("mcp::a_fastmcp_server_over_stdio") {
        return;
    }
    let dir = tempdir();
    let server = fastmcp();
    let transport = stdio("python3", &[&server.display().to_string()]);
    let call = |name: &str, method: &str, parameters: &str| {
        format!(
            "  - {name}:\n      call: mcp\n      with:\n        method: {method}\n{parameters}{transport}"
        )
    };
    let body = [
        "do:\n".to_owned(),
        call(
            "add",
            "tools/call",
            "        parameters:\n          name: add\n          arguments: {a: 20, b: 22}\n",
        ),
        "      export:\n        as: '${ {sum: .content[0].text} }'\n".to_owned(),
        call(
            "prompt",
            "prompts/get",
            "        parameters:\n          name: summarize\n          arguments: {text: ducks}\n",
        ),
        "      export:\n        as: '${ $context + {prompt: .messages[0].content.text} }'\n"
            .to_owned(),
        call(
            "note",
            "resources/read",
            "        parameters:\n          uri: note://ducks\n",
        ),
        "      export:\n        as: '${ $context + {note: .contents[0].text} }'\n".to_owned(),
        call("resources", "resources/list", ""),
        "      output:\n        as: '${ $context + {resources: [.resources[].uri]} }'\n".to_owned(),
    ]
    .concat();
    let file = flow(dir.path(), &body);
    let output = Run::new(&file, &[]).go().output();
    assert_eq!(
        output,
        json!({"sum": "42", "prompt": "Please summarize: ducks", "note": "Note ducks", "resources": ["note://welcome"]})
    );
}

#[test]
fn tool_errors_and_json_rpc_errors_are_runtime_errors_with_the_message() {
    if !fastmcp_ready("mcp::tool_errors_and_json_rpc_errors") {
        return;
    }
    let dir = tempdir();
    let server = fastmcp();
    let transport = stdio("python3", &[&server.display().to_string()]);
    let fail = flow(
        dir.path(),
        &format!(
            "do:\n  - fail:\n      call: mcp\n      with:\n        method: tools/call\n        parameters:\n          name: fail\n          arguments: {{reason: on purpose}}\n{transport}"
        ),
    );
    let ran = Run::new(&fail, &[]).go();
    assert_eq!(ran.code, ExitCode::Faulted as i32);
    let error = ran.error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
        "{error}"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("failed on purpose: on purpose")),
        "{error}"
    );
    assert_eq!(error["instance"], "/do/0/fail");
    let unknown = flow(
        dir.path(),
        &format!(
            "do:\n  - missing:\n      call: mcp\n      with:\n        method: prompts/get\n        parameters:\n          name: no-such-prompt\n{transport}"
        ),
    );
    let error = Run::new(&unknown, &[]).go().error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
        "{error}"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no-such-prompt")),
        "{error}"
    );
}

#[test]
fn a_fastmcp_server_over_streamable_http_with_bearer_authentication() {
    if !fastmcp_ready("mcp::a_fastmcp_server_over_streamable_http") {
        return;
    }
    let server = fastmcp();
    let peer = Peer::start("python3", &[&server, Path::new("http")], &[]);
    let dir = tempdir();
    let file = flow(
        dir.path(),
        &format!(
            "use:\n  secrets: [mcpToken]\ndo:\n  - shout:\n      call: mcp\n      with:\n        method: tools/call\n        protocolVersion: '2025-03-26'\n        parameters:\n          name: shout\n          arguments: {{text: quiet please}}\n        transport:\n          http:\n            endpoint:\n              uri: {}/mcp\n              authentication:\n                bearer:\n                  token: ${{ $secrets.mcpToken }}\n",
            peer.base()
        ),
    );
    let ran = Run::new(&file, &[])
        .env("WORKFLOW_SECRET_mcpToken", "tok-3141")
        .go();
    assert_eq!(ran.output()["content"][0]["text"], "QUIET PLEASE");
    assert!(!ran.stdout.contains("tok-3141") && !ran.stderr.contains("tok-3141"));
}

#[test]
fn paginated_lists_are_followed_to_the_end() {
    if !services::ready(
        "mcp::paginated_lists_are_followed",
        &[Need::program("python3")],
    ) {
        return;
    }
    let dir = tempdir();
    let server = services::peers_dir().join("mcp/paged_server.py");
    let transport = stdio("python3", &[&server.display().to_string()]);
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - all:\n      call: mcp\n      with:\n        method: tools/list\n{transport}      export:\n        as: '${{ {{all: [.tools[].name]}} }}'\n  - one:\n      call: mcp\n      with:\n        method: tools/list\n        parameters:\n          cursor: '10'\n{transport}      output:\n        as: '${{ {{all: $context.all, page: [.tools[].name], next: .nextCursor}} }}'\n"
        ),
    );
    let output = Run::new(&file, &[]).go().output();
    let all: Vec<String> = (0..25).map(|i| format!("tool-{i}")).collect();
    assert_eq!(output["all"], json!(all));
    let page: Vec<String> = (10..20).map(|i| format!("tool-{i}")).collect();
    assert_eq!(output["page"], json!(page));
    assert_eq!(output["next"], "20");
}

#[test]
fn the_initialize_request_carries_the_client_and_protocol_version() {
    if !services::ready(
        "mcp::the_initialize_request_carries",
        &[Need::program("python3")],
    ) {
        return;
    }
    let dir = tempdir();
    let server = services::peers_dir().join("mcp/paged_server.py");
    let log = dir.path().join("requests.log");
    // The server logs every request to stderr; a shell wrapper keeps that log in a file.
    let command = format!("python3 '{}' 2>'{}'", server.display(), log.display());
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - all:\n      call: mcp\n      with:\n        method: tools/list\n        protocolVersion: '2025-03-26'\n        transport:\n          stdio:\n            command: sh\n            arguments: ['-c', \"{command}\"]\n        client:\n          name: pager\n          version: '1.2'\n"
        ),
    );
    Run::new(&file, &[]).go().output();
    let text = wait_for(&log, |t| t.contains("tools/list"));
    let initialize = text
        .lines()
        .find(|l| l.contains("\"initialize\""))
        .unwrap_or_else(|| panic!("no initialize in {text}"));
    assert!(
        initialize.contains("\"protocolVersion\": \"2025-03-26\""),
        "{initialize}"
    );
    assert!(
        initialize.contains("\"name\": \"pager\"") && initialize.contains("\"version\": \"1.2\""),
        "{initialize}"
    );
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("\"initialize\""),
        "initialize must come first: {text}"
    );
}

#[test]
fn a_server_that_dies_shows_its_stderr_and_a_hanging_one_is_killed_on_timeout() {
    let dir = tempdir();
    let dies = flow(
        dir.path(),
        "do:\n  - broken:\n      call: mcp\n      with:\n        method: tools/list\n        transport:\n          stdio:\n            command: sh\n            arguments: ['-c', 'echo missing configuration file >&2; exit 3']\n",
    );
    let error = Run::new(&dies, &[]).go().error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/communication",
        "{error}"
    );
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("missing configuration file")),
        "{error}"
    );

    let pid_file = dir.path().join("server.pid");
    let hangs = flow(
        dir.path(),
        &format!(
            "do:\n  - slow:\n      call: mcp\n      with:\n        method: tools/list\n        timeout:\n          seconds: 2\n        transport:\n          stdio:\n            command: sh\n            arguments: ['-c', 'echo $$ > {}; exec sleep 600']\n",
            pid_file.display()
        ),
    );
    let ran = Run::new(&hangs, &[]).go();
    let error = ran.error();
    assert_eq!(
        error["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/timeout",
        "{error}"
    );
    let pid: i32 = wait_for(&pid_file, |t| t.trim().parse::<i32>().is_ok())
        .trim()
        .parse()
        .unwrap_or_default();
    // The server's process group was ended with the run.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server {pid} outlived the run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_completed_call_is_one_durable_step_that_a_retry_does_not_repeat() {
    if !services::ready(
        "mcp::a_completed_call_is_one_durable_step",
        &[Need::program("python3")],
    ) {
        return;
    }
    let dir = tempdir();
    let server = services::peers_dir().join("mcp/paged_server.py");
    let starts = dir.path().join("starts.log");
    let fixed = dir.path().join("fixed");
    let command = format!(
        "echo started >> '{}'; exec python3 '{}'",
        starts.display(),
        server.display()
    );
    let file = flow(
        dir.path(),
        &format!(
            "do:\n  - tools:\n      call: mcp\n      with:\n        method: tools/list\n        transport:\n          stdio:\n            command: sh\n            arguments: ['-c', \"{command}\"]\n      output:\n        as: '${{ {{count: (.tools | length)}} }}'\n  - gate:\n      run:\n        shell:\n          command: 'test -e \"$1\"'\n          arguments: ['{}']\n        return: none\n      output:\n        as: '${{ $input }}'\n",
            fixed.display()
        ),
    );
    let state = dir.path().join("state");
    let run = |args: &[&str]| {
        let mut command = assert_cmd::Command::new(crate::support::BINARY);
        command
            .args(args)
            .args(["--format", "json", "--progress", "none", "--state-dir"])
            .arg(&state)
            .env_remove("WORKFLOW_STATE_DIR")
            .timeout(Duration::from_secs(120));
        crate::support::Ran::of(&mut command)
    };
    let failed = run(&["run", &file.display().to_string()]);
    assert_eq!(failed.code, ExitCode::Faulted as i32, "{}", failed.stderr);
    let id = failed.json()["id"].as_str().unwrap_or_default().to_owned();
    std::fs::write(&fixed, "").unwrap_or_else(|e| panic!("{e}"));
    let retried = run(&["retry", &id]);
    assert_eq!(retried.output(), json!({"count": 25}));
    let text = std::fs::read_to_string(&starts).unwrap_or_default();
    assert_eq!(
        text.lines().count(),
        1,
        "the server was started again: {text}"
    );
}
