//! End-to-end tests of secrets with the real binary: `--secrets` files and `WORKFLOW_SECRET_*`
//! variables, their precedence, object secrets, the missing-secret fault, malformed files, and
//! the masking of secret values in stdout, stderr, the events file and the JUnit report.

use std::path::Path;

use serde_json::json;
use workflow::exit_code::ExitCode;

use crate::support::{Ran, journaled, json_of, tempdir, write};

/// The secret values the workflows below use; none may ever be shown.
const API_KEY: &str = "sk-live-7f3a9c21";
const USERNAME: &str = "ada-lovelace-42";
const PASSWORD: &str = "pa55-w0rd-xyz";

/// Every variable the tests set, removed first so the caller's environment cannot interfere.
const VARIABLES: [&str; 4] = [
    "WORKFLOW_SECRET_APIKEY",
    "WORKFLOW_SECRET_apiKey",
    "WORKFLOW_SECRET_CREDS",
    "WORKFLOW_SECRET_TOKEN",
];

/// Runs `workflow run ARGS` with the given secret variables.
fn run(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = journaled("secrets");
    command.arg("run").args(args);
    for variable in VARIABLES {
        command.env_remove(variable);
    }
    Ran::of(command.envs(env.iter().copied()))
}

fn text(path: &Path) -> String {
    path.to_str().unwrap_or_default().to_string()
}

fn document(secrets: &str, body: &str) -> String {
    format!(
        "document:\n  dsl: '1.0.3'\n  namespace: test\n  name: secrets\n  version: '1.0.0'\nuse:\n  secrets: [{secrets}]\n{body}"
    )
}

/// Echoes the secrets through a process's stdout and stderr, a failing process's stderr (caught),
/// `export`, `set`, and optionally a `raise` whose detail holds the key.
const LEAKY: &str = r#"do:
  - echo:
      run:
        shell:
          command: 'echo "key=$KEY"; echo "to stderr $KEY" >&2'
          environment:
            KEY: ${ $secrets.apiKey }
      export:
        as: '${ {echoed: .} }'
  - failing:
      try:
        - leak:
            run:
              shell:
                command: 'echo "denied for $USER_NAME:$PASS" >&2; exit 3'
                environment:
                  USER_NAME: ${ $secrets.creds.username }
                  PASS: ${ $secrets.creds.password }
      catch:
        as: caught
        do:
          - keep:
              set:
                caught: ${ $caught.detail }
  - gather:
      set:
        echoed: ${ $context.echoed }
        caught: ${ .caught }
        user: ${ $secrets.creds.username }
        key: ${ $secrets.apiKey }
        keyLength: ${ $secrets.apiKey | length }
  - fail:
      if: ${ $workflow.input.fail == true }
      raise:
        error:
          type: https://example.com/errors/refused
          status: 400
          title: Refused
          detail: ${ "the key " + $secrets.apiKey + " was refused" }
"#;

fn assert_hidden(what: &str, shown: &str) {
    for secret in [API_KEY, USERNAME, PASSWORD] {
        assert!(
            !shown.contains(secret),
            "{what} shows the secret {secret}:\n{shown}"
        );
    }
}

#[test]
fn secret_values_appear_nowhere_in_what_a_run_shows_or_writes() {
    let dir = tempdir();
    let file = write(dir.path(), "leaky.yaml", &document("apiKey, creds", LEAKY));
    let creds = json!({"creds": {"username": USERNAME, "password": PASSWORD}});
    let secrets = write(dir.path(), "creds.json", &creds.to_string());
    let env = [("WORKFLOW_SECRET_APIKEY", API_KEY)];
    for (format, progress, fail) in [
        ("json", "plain", false),
        ("json", "plain", true),
        ("human", "plain", false),
        ("human", "plain", true),
        ("human", "tty", true),
        ("human", "none", true),
    ] {
        let case = format!("--format {format} --progress {progress}, fail: {fail}");
        let events = dir.path().join("events.jsonl");
        let junit = dir.path().join("junit.xml");
        let input = json!({"fail": fail}).to_string();
        let output = run(
            &[
                &text(&file),
                "--secrets",
                &text(&secrets),
                "--format",
                format,
                "--progress",
                progress,
                "--input",
                &input,
                "--events",
                &text(&events),
                "--junit",
                &text(&junit),
            ],
            &env,
        );
        let expected = if fail {
            ExitCode::Faulted
        } else {
            ExitCode::Success
        };
        assert_eq!(output.code, expected.code(), "{case}: {}", output.stderr);
        let events = std::fs::read_to_string(&events).unwrap_or_else(|e| panic!("{e}"));
        let junit = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{e}"));
        assert_hidden(&format!("stdout ({case})"), &output.stdout);
        assert_hidden(&format!("stderr ({case})"), &output.stderr);
        assert_hidden(&format!("the events file ({case})"), &events);
        assert_hidden(&format!("the JUnit report ({case})"), &junit);
        // Masked, not dropped: each place that showed a secret shows the mask.
        assert!(events.contains("key=***"), "{case}: {events}");
        assert!(events.contains("denied for ***:***"), "{case}: {events}");
        if fail {
            assert!(events.contains("the key *** was refused"), "{case}");
            assert!(junit.contains("the key *** was refused"), "{case}: {junit}");
        }
        match (format, fail) {
            ("json", false) => assert_eq!(
                json_of(&output.stdout)["output"],
                json!({
                    "echoed": "key=***\n",
                    "caught": "exit code 3; stderr ends with:\ndenied for ***:***",
                    "user": "***",
                    "key": "***",
                    // The workflow computes with the real value.
                    "keyLength": API_KEY.len(),
                }),
                "{case}"
            ),
            ("json", true) => assert_eq!(
                json_of(&output.stdout)["error"]["detail"],
                "the key *** was refused",
                "{case}"
            ),
            ("human", false) => assert!(output.stdout.contains("\"key\": \"***\""), "{case}"),
            _ => assert!(
                output.stderr.contains("the key *** was refused"),
                "{case}: {}",
                output.stderr
            ),
        }
        if progress == "plain" {
            assert!(
                output.stderr.contains("denied for ***:***"),
                "{case}: {}",
                output.stderr
            );
        }
    }
}

#[test]
fn the_workflow_computes_with_the_real_values() {
    let dir = tempdir();
    let body = r#"do:
  - check:
      run:
        shell:
          command: '[ "$KEY" = "sk-live-7f3a9c21" ] && echo same || echo different'
          environment:
            KEY: ${ $secrets.apiKey }
"#;
    let file = write(dir.path(), "check.yaml", &document("apiKey", body));
    let output = run(
        &[&text(&file), "--format", "json"],
        &[("WORKFLOW_SECRET_APIKEY", API_KEY)],
    );
    assert_eq!(output.code, ExitCode::Success.code(), "{}", output.stderr);
    assert_eq!(json_of(&output.stdout)["output"], "same\n");
}

#[test]
fn a_missing_secret_faults_before_the_first_task() {
    let dir = tempdir();
    let file = write(dir.path(), "leaky.yaml", &document("apiKey, creds", LEAKY));
    let events = dir.path().join("events.jsonl");
    let output = run(
        &[&text(&file), "--format", "json", "--events", &text(&events)],
        &[("WORKFLOW_SECRET_APIKEY", API_KEY)],
    );
    assert_eq!(output.code, ExitCode::Faulted.code(), "{}", output.stderr);
    let error = &json_of(&output.stdout)["error"];
    assert_eq!(error["status"], 403);
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/authorization"
    );
    assert_eq!(error["title"], "Missing secret");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("`creds`"), "{detail}");
    assert!(detail.contains("WORKFLOW_SECRET_CREDS=..."), "{detail}");
    assert!(detail.contains("--secrets FILE"), "{detail}");
    let types: Vec<String> = std::fs::read_to_string(&events)
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .map(|line| {
            json_of(line)["type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        [
            "io.serverlessworkflow.workflow.started.v1",
            "io.serverlessworkflow.workflow.faulted.v1"
        ]
    );
    // A dry run reports it too, without running anything.
    let dry = run(&[&text(&file), "--dry-run"], &[]);
    assert_eq!(dry.code, ExitCode::Faulted.code(), "{}", dry.stdout);
    assert!(dry.stderr.contains("Missing secrets"), "{}", dry.stderr);
    assert!(
        dry.stderr.contains("WORKFLOW_SECRET_APIKEY=..."),
        "{}",
        dry.stderr
    );
    assert!(dry.stdout.is_empty(), "{}", dry.stdout);
}

#[test]
fn the_environment_wins_over_files_and_later_files_over_earlier_ones() {
    let dir = tempdir();
    // Shown values are masked, so the workflow reports which source each value came from.
    let body = r#"do:
  - compare:
      set:
        tokenFromSecond: ${ $secrets.token == "token-from-second" }
        tokenFromEnv: ${ $secrets.token == "token-from-env" }
        apiKeyFromFirst: ${ $secrets.apiKey == "key-from-first" }
"#;
    let file = write(dir.path(), "compare.yaml", &document("token, apiKey", body));
    let first = write(
        dir.path(),
        "first.yaml",
        "token: token-from-first\napiKey: key-from-first\n",
    );
    let second = write(
        dir.path(),
        "second.env",
        "# later file\nexport token='token-from-second'\n",
    );
    let (file, first, second) = (text(&file), text(&first), text(&second));
    let args = [
        file.as_str(),
        "--secrets",
        &first,
        "--secrets",
        &second,
        "--format",
        "json",
    ];
    let files_only = run(&args, &[]);
    assert_eq!(
        files_only.code,
        ExitCode::Success.code(),
        "{}",
        files_only.stderr
    );
    assert_eq!(
        json_of(&files_only.stdout)["output"],
        json!({"tokenFromSecond": true, "tokenFromEnv": false, "apiKeyFromFirst": true})
    );
    let with_env = run(&args, &[("WORKFLOW_SECRET_TOKEN", "token-from-env")]);
    assert_eq!(
        json_of(&with_env.stdout)["output"],
        json!({"tokenFromSecond": false, "tokenFromEnv": true, "apiKeyFromFirst": true})
    );
}

#[test]
fn object_secrets_come_from_files_and_json_variables() {
    let dir = tempdir();
    let body = r#"do:
  - inspect:
      set:
        keys: ${ $secrets.creds | keys }
        user: ${ $secrets.creds.username == "ada-lovelace-42" }
"#;
    let file = write(dir.path(), "object.yaml", &document("creds", body));
    let yaml = write(
        dir.path(),
        "creds.yml",
        "creds:\n  username: ada-lovelace-42\n  password: pa55-w0rd-xyz\n",
    );
    let expected = json!({"keys": ["password", "username"], "user": true});
    let from_file = run(
        &[&text(&file), "--secrets", &text(&yaml), "--format", "json"],
        &[],
    );
    assert_eq!(json_of(&from_file.stdout)["output"], expected);
    let variable = json!({"username": USERNAME, "password": PASSWORD}).to_string();
    let from_env = run(
        &[&text(&file), "--format", "json"],
        &[("WORKFLOW_SECRET_CREDS", &variable)],
    );
    assert_eq!(json_of(&from_env.stdout)["output"], expected);
}

#[test]
fn values_under_four_characters_are_masked_only_as_whole_values() {
    let dir = tempdir();
    let body = "do:\n  - show:\n      set:\n        value: ${ $secrets.token }\n        text: ${ \"x-\" + $secrets.token }\n";
    let file = write(dir.path(), "short.yaml", &document("token", body));
    let short = run(
        &[&text(&file), "--format", "json"],
        &[("WORKFLOW_SECRET_TOKEN", "abc")],
    );
    assert_eq!(
        json_of(&short.stdout)["output"],
        json!({"value": "***", "text": "x-abc"})
    );
    let long = run(
        &[&text(&file), "--format", "json"],
        &[("WORKFLOW_SECRET_TOKEN", "abcd")],
    );
    assert_eq!(
        json_of(&long.stdout)["output"],
        json!({"value": "***", "text": "x-***"})
    );
}

#[test]
fn a_malformed_secrets_file_is_a_usage_error_naming_file_and_line() {
    let dir = tempdir();
    let body = "do:\n  - show:\n      set:\n        value: 1\n";
    let file = write(dir.path(), "plain.yaml", &document("token", body));
    let cases = [
        (
            "bad.env",
            "token=ok\nno equals sign here\n",
            "(line 2): expected `NAME=value`",
        ),
        (
            "bad.json",
            "{\"token\": \"x\",\n}",
            "(line 2): not valid JSON",
        ),
        ("bad.yaml", "token: [1\n", "not valid YAML"),
        (
            "list.yaml",
            "- a\n",
            "must map secret names to values, but it holds a list",
        ),
    ];
    for (name, content, expected) in cases {
        let secrets = write(dir.path(), name, content);
        let output = run(&[&text(&file), "--secrets", &text(&secrets)], &[]);
        assert_eq!(
            output.code,
            ExitCode::Usage.code(),
            "{name}: {}",
            output.stderr
        );
        assert!(output.stderr.contains(name), "{name}: {}", output.stderr);
        assert!(
            output.stderr.contains(expected),
            "{name}: {}",
            output.stderr
        );
        assert!(output.stdout.is_empty());
    }
    let missing = dir.path().join("absent.env");
    let output = run(&[&text(&file), "--secrets", &text(&missing)], &[]);
    assert_eq!(output.code, ExitCode::Usage.code());
    assert!(
        output.stderr.contains("cannot read the secrets file"),
        "{}",
        output.stderr
    );
}
