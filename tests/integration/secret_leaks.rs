//! The four ways secrets used to leak, each checked over every sink a run writes to (stderr,
//! `--format json`, `--events`, JUnit, `runs show`, `runs events`, the journal's files):
//! percent-encoded (a secret in a query string), cut before masking (a long value quoted in an
//! error message), `WORKFLOW_SECRET_*` variables inherited by child processes, and masking that
//! broke the JSON contract (a secret equal to `true` or to a key). Numeric secrets from a file are
//! masked like text ones.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

use crate::support::http_server::serve;
use crate::support::{BINARY, Ran, tempdir, write};

/// A secret with characters that percent-encoding changes (`/`, `+`, `=`).
const KEY: &str = "sk_live/AbCd+EfGh=IjKl-9f8e7d6c";
/// Long enough to be cut by the 80-character excerpt of an error message.
const TOKEN: &str = "SuperSecretToken-5b4a3928";
/// Not declared by the workflow, but given: must be masked and never reach a child.
const UNDECLARED: &str = "undeclared-hush-4c1d";

/// Every form of `secret` that would tell it: as written, percent-encoded (both hex cases,
/// form encoding), base64, and its first half (a cut-off prefix).
fn forms(secret: &str) -> Vec<String> {
    let upper: String = percent(secret, true);
    let lower: String = percent(secret, false);
    let half: String = secret.chars().take(secret.len() / 2 + 1).collect();
    vec![
        secret.to_string(),
        upper,
        lower,
        base64::engine::general_purpose::STANDARD.encode(secret),
        half,
    ]
}

fn percent(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn assert_hidden(sink: &str, shown: &str) {
    for secret in [KEY, TOKEN, UNDECLARED] {
        for form in forms(secret) {
            assert!(
                !shown.contains(&form),
                "{sink} shows `{form}` (a form of a secret):\n{shown}"
            );
        }
    }
}

fn workflow(dir: &Path, url: &str) -> String {
    let body = format!(
        r#"document:
  dsl: '1.0.3'
  namespace: test
  name: leaks
  version: '1.0.0'
use:
  secrets: [key, token, flag, word, pin]
do:
  - call:
      call: http
      with:
        method: get
        endpoint: {url}
        query:
          key: ${{ $secrets.key }}
        output: response
      export:
        as: '${{ {{uri: .request.uri}} }}'
  - cut:
      try:
        - quote:
            raise:
              error:
                type: '${{ {{a: "{pad}", token: $secrets.token}} }}'
                status: 400
      catch:
        as: caught
        do:
          - keep:
              set:
                detail: ${{ $caught.detail }}
              export:
                as: '${{ $context + {{caught: .detail}} }}'

  - env:
      run:
        shell:
          command: env
      export:
        as: '${{ $context + {{env: .}} }}'
  - gather:
      set:
        ok: true
        status: fine
        flag: ${{ $secrets.flag }}
        word: ${{ $secrets.word }}
        pin: ${{ $secrets.pin }}
        pinText: ${{ $secrets.pin | tostring }}
        uri: ${{ $context.uri }}
        caught: ${{ $context.caught }}
        env: ${{ $context.env }}
"#,
        pad = "p".repeat(50)
    );
    write(dir, "leaks.yaml", &body).display().to_string()
}

fn workflow_cmd(state: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env("WORKFLOW_STATE_DIR", state)
        .env_remove("WORKFLOW_SECRET_KEY")
        .env_remove("WORKFLOW_SECRET_TOKEN");
    command
}

#[test]
fn no_form_of_a_secret_reaches_any_sink_and_json_stays_json() {
    let server = serve(axum::Router::new().route(
        "/echo",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"seen": true})) }),
    ));
    let dir = tempdir();
    let state = dir.path().join("state");
    let file = workflow(dir.path(), &server.url("/echo"));
    // The numeric secret comes from a file, the others from the environment.
    let secrets = write(
        dir.path(),
        "secrets.yaml",
        "pin: 98765432\nflag: 'true'\nword: status\n",
    );
    let events = dir.path().join("events.jsonl");
    let junit = dir.path().join("junit.xml");
    let ran = Ran::from(
        workflow_cmd(&state)
            .args(["run", &file, "--format", "json", "--secrets"])
            .arg(&secrets)
            .arg("--events")
            .arg(&events)
            .arg("--junit")
            .arg(&junit)
            .env("WORKFLOW_SECRET_KEY", KEY)
            .env("WORKFLOW_SECRET_TOKEN", TOKEN)
            .env("WORKFLOW_SECRET_UNDECLARED", UNDECLARED)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    // JSON stays JSON, with its keys and literals, whatever the secrets' values.
    let result: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", ran.stdout));
    assert_eq!(result["status"], "completed", "{result}");
    let output = &result["output"];
    assert_eq!(output["ok"], true, "{output}");
    assert_eq!(output["status"], "fine", "{output}");
    assert_eq!(output["flag"], "***", "{output}");
    assert_eq!(output["word"], "***", "{output}");
    // A number from a file is masked like the same text from the environment.
    assert_eq!(output["pin"], "***", "{output}");
    assert_eq!(output["pinText"], "***", "{output}");
    // The query string carried the key percent-encoded: masked there too.
    let uri = output["uri"].as_str().unwrap_or_default();
    assert!(uri.contains("key=***"), "{uri}");
    // The error message quoted a value cut at 80 characters in the middle of the token.
    let caught = output["caught"].as_str().unwrap_or_default();
    assert!(caught.contains("\"token\":\"***"), "{caught}");
    // The child's environment holds no secret variable at all.
    let env = output["env"].as_str().unwrap_or_default();
    assert!(!env.contains("WORKFLOW_SECRET_"), "{env}");

    let id = result["id"].as_str().unwrap_or_default().to_string();
    let show = Ran::from(
        workflow_cmd(&state)
            .args(["runs", "show", &id, "--format", "json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let stored = Ran::from(
        workflow_cmd(&state)
            .args(["runs", "events", &id])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(stored.code, 0, "{}", stored.stderr);
    let bytes = |path: &Path| {
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
    };
    let sinks = [
        ("stdout", ran.stdout.clone()),
        ("stderr", ran.stderr.clone()),
        ("--events", bytes(&events)),
        ("JUnit", bytes(&junit)),
        ("runs show", show.stdout + &show.stderr),
        ("runs events", stored.stdout + &stored.stderr),
        ("journal.db", bytes(&state.join("journal.db"))),
        ("journal.db-wal", bytes(&state.join("journal.db-wal"))),
    ];
    for (sink, shown) in &sinks {
        assert_hidden(sink, shown);
    }
    assert!(sinks[2].1.contains("key=***"), "{}", sinks[2].1);
}
