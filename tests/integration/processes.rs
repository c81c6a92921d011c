//! `run: shell` and `run: script` through the real binary: return modes and exit codes,
//! environment, stdin and arguments, a process that ignores SIGTERM, megabytes on both streams,
//! the output cap, `await: false`, missing interpreters, and script sources (files and URLs).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::procs::{Run, SOON, wait_for};
use crate::support::{document, tempdir, write};
use serde_json::{Value, json};
use workflow::exit_code::ExitCode;

fn flow(dir: &Path, body: &str) -> std::path::PathBuf {
    write(dir, "flow.yaml", &document("test", "procs", "1.0.0", body))
}

fn shell_task(command: &str, extra: &str) -> String {
    format!("do:\n  - sh:\n      run:\n{extra}        shell:\n          command: '{command}'\n")
}

#[test]
fn every_return_mode_and_exit_code() {
    let dir = tempdir();
    let cases: [(&str, i32, Value); 5] = [
        ("stdout", 0, json!("out\n")),
        ("stderr", 0, json!("err\n")),
        ("code", 4, json!(4)),
        (
            "all",
            5,
            json!({"code": 5, "stdout": "out\n", "stderr": "err\n"}),
        ),
        ("none", 0, json!(null)),
    ];
    for (mode, code, expected) in cases {
        let command = format!("echo out; echo err >&2; exit {code}");
        let file = flow(
            dir.path(),
            &shell_task(&command, &format!("        return: {mode}\n")),
        );
        assert_eq!(
            Run::new(&file, &[]).go().output(),
            expected,
            "return: {mode}"
        );
    }
    // Only `code` and `all` make a non-zero exit a value rather than an error.
    for mode in ["stdout", "stderr", "none"] {
        let file = flow(
            dir.path(),
            &shell_task(
                "echo out; echo err >&2; exit 9",
                &format!("        return: {mode}\n"),
            ),
        );
        let ran = Run::new(&file, &[]).go();
        assert_eq!(ran.code, ExitCode::Faulted as i32);
        let error = ran.error();
        assert_eq!(
            error["title"], "Process exited with code 9",
            "return: {mode}"
        );
        assert_eq!(error["detail"], "exit code 9; stderr ends with:\nerr");
        assert_eq!(error["status"], 500);
    }
}

#[test]
fn environment_stdin_and_arguments_reach_the_process_unchanged() {
    let dir = tempdir();
    let file = flow(
        dir.path(),
        r#"do:
  - sh:
      run:
        shell:
          command: 'printf "%s|%s|%s|" "$GREETING" "$1" "$2"; cat'
          environment:
            GREETING: ${ .greeting }
          arguments:
            - ${ .first }
            - '$(touch pwned); `id`'
          stdin: ${ .text }
"#,
    );
    let input = json!({"greeting": "hi there", "first": "a  b", "text": "line 1\nline 2"});
    let ran = Run::new(&file, &["--input", &input.to_string()])
        .dir(dir.path())
        .go();
    assert_eq!(
        ran.output(),
        json!("hi there|a  b|$(touch pwned); `id`|line 1\nline 2")
    );
    assert!(!dir.path().join("pwned").exists());
}

/// Whether `pid` is a live process (a zombie counts as gone: it runs nothing).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                != Some('Z')
        }
        Err(_) => false,
    }
}

#[test]
fn a_process_ignoring_sigterm_is_killed_on_timeout() {
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let file = flow(
        dir.path(),
        r#"do:
  - stubborn:
      timeout:
        after:
          milliseconds: 300
      run:
        shell:
          command: 'trap "" TERM; sleep 300 & echo "$$ $!" > "$1"; wait; echo unreachable'
          arguments: [ '${ .pids }' ]
"#,
    );
    let input = json!({"pids": pids}).to_string();
    let started = Instant::now();
    let ran = Run::new(&file, &["--input", &input]).go();
    assert!(started.elapsed() < SOON, "the run was not cut short");
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/timeout"
    );
    assert_eq!(error["instance"], "/do/0/stubborn");
    let text = wait_for(&pids, |text| text.ends_with('\n'));
    let pids: Vec<i32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "{text}");
    let deadline = Instant::now() + SOON;
    while pids.iter().any(|&pid| running(pid)) {
        assert!(Instant::now() < deadline, "a process survived: {pids:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn megabytes_on_both_streams_do_not_deadlock_and_the_cap_holds() {
    let dir = tempdir();
    let both = "for i in 1 2 3; do head -c 1000000 /dev/zero | tr \"\\\\0\" o; head -c 1000000 /dev/zero | tr \"\\\\0\" e >&2; done";
    let file = flow(dir.path(), &shell_task(both, "        return: all\n"));
    let output = Run::new(&file, &[]).go().output();
    assert_eq!(output["code"], 0);
    let stdout = output["stdout"].as_str().unwrap_or_default();
    let stderr = output["stderr"].as_str().unwrap_or_default();
    assert_eq!(stdout.len(), 3_000_000);
    assert!(stdout.bytes().all(|b| b == b'o'));
    assert_eq!(stderr.len(), 3_000_000);
    assert!(stderr.bytes().all(|b| b == b'e'));

    // Past the 16 MiB cap the rest is read and dropped, and the cut is marked.
    let flood = "head -c 20000000 /dev/zero | tr \"\\\\0\" a";
    let file = flow(dir.path(), &shell_task(flood, ""));
    let output = Run::new(&file, &[]).go().output();
    let text = output.as_str().unwrap_or_default();
    let cap = 16 * 1024 * 1024;
    let note = format!(
        "\n[output truncated at {cap} bytes: {} more bytes not kept]",
        20_000_000 - cap
    );
    assert!(
        text.ends_with(&note),
        "{}",
        &text[text.len().saturating_sub(100)..]
    );
    assert_eq!(text.len(), cap + note.len());
}

#[test]
fn a_process_that_is_not_awaited_runs_on_after_the_task() {
    let dir = tempdir();
    let (go, done) = (dir.path().join("go"), dir.path().join("done"));
    let file = flow(
        dir.path(),
        r#"do:
  - start:
      run:
        await: false
        shell:
          command: 'while [ ! -e "$1" ]; do sleep 0.02; done; cat > "$2"'
          arguments: [ '${ .go }', '${ .done }' ]
          stdin: fed
  - next:
      set:
        saw: ${ . }
"#,
    );
    let input = json!({"go": go, "done": done});
    let ran = Run::new(&file, &["--input", &input.to_string()]).go();
    // The run ended although the process still waits for `go`: it was not awaited.
    assert_eq!(ran.output(), json!({"saw": input}));
    assert!(!done.exists());
    std::fs::write(&go, "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wait_for(&done, |text| text == "fed"), "fed");
}

#[test]
fn a_missing_interpreter_says_what_to_install() {
    let dir = tempdir();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        (
            "python",
            "`python3` was not found on PATH: install Python 3 to run Python scripts",
        ),
        (
            "javascript",
            "`node` was not found on PATH: install Node.js to run JavaScript scripts",
        ),
    ];
    for (language, detail) in cases {
        let file = flow(
            dir.path(),
            &format!(
                "do:\n  - script:\n      run:\n        script:\n          language: {language}\n          code: print(1)\n"
            ),
        );
        let ran = Run::new(&file, &[]).env("PATH", &empty).go();
        assert_eq!(ran.code, ExitCode::Faulted as i32);
        let error = ran.error();
        assert_eq!(
            error["type"],
            "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
        );
        assert_eq!(error["title"], "Program not found");
        assert_eq!(error["detail"], detail);
    }
}

fn python_available() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        println!("note: `python3` is not installed; skipping");
    }
    found
}

#[test]
fn a_script_source_is_read_relative_to_the_document() {
    if !python_available() {
        return;
    }
    let dir = tempdir();
    write(
        dir.path(),
        "scripts/shout.py",
        "import sys\nprint(sys.stdin.read().upper(), sys.argv[1:])\n",
    );
    let file = flow(
        dir.path(),
        r#"do:
  - shout:
      run:
        script:
          language: python
          source:
            endpoint: file://scripts/shout.py
          stdin: ${ .text }
          arguments: [ one, '${ .two }' ]
"#,
    );
    // Run from elsewhere: the path is the document's, not the current directory's.
    let elsewhere = tempdir();
    let ran = Run::new(&file, &["--input", r#"{"text": "hello", "two": "2"}"#])
        .dir(elsewhere.path())
        .go();
    assert_eq!(ran.output(), json!("HELLO ['one', '2']\n"));
}

#[test]
fn a_missing_script_source_names_the_file_and_the_field() {
    let dir = tempdir();
    let file = flow(
        dir.path(),
        "do:\n  - shout:\n      run:\n        script:\n          language: python\n          source:\n            endpoint:\n              uri: file://scripts/missing.py\n",
    );
    let error = Run::new(&file, &[]).go().error();
    assert_eq!(error["title"], "Resource not found");
    assert_eq!(error["status"], 400);
    assert_eq!(
        error["detail"],
        format!(
            "`{}`: no such file (script source at `/do/0/shout/run/script/source`)",
            dir.path().join("scripts/missing.py").display()
        )
    );
}

/// Serves the script at `/shout.py` (bearer token `let-me-in` required) on 127.0.0.1.
fn serve_scripts() -> (SocketAddr, tokio::runtime::Runtime) {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let app = axum::Router::new().route(
        "/shout.py",
        get(|headers: HeaderMap| async move {
            let authorized = headers
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                == Some("Bearer let-me-in");
            if authorized {
                (StatusCode::OK, "print('from the web')\n")
            } else {
                (StatusCode::UNAUTHORIZED, "no")
            }
        }),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, runtime)
}

#[test]
fn a_script_source_is_fetched_over_http_with_its_authentication() {
    if !python_available() {
        return;
    }
    let (address, _server) = serve_scripts();
    let dir = tempdir();
    let task = |token: &str, path: &str| {
        format!(
            "do:\n  - web:\n      run:\n        script:\n          language: python\n          source:\n            endpoint:\n              uri: http://{address}{path}\n              authentication:\n                bearer:\n                  token: {token}\n"
        )
    };
    let file = flow(dir.path(), &task("let-me-in", "/shout.py"));
    assert_eq!(Run::new(&file, &[]).go().output(), json!("from the web\n"));
    let file = flow(dir.path(), &task("wrong", "/shout.py"));
    let error = Run::new(&file, &[]).go().error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/authentication"
    );
    assert_eq!(error["status"], 401);
    let file = flow(dir.path(), &task("let-me-in", "/missing.py"));
    let error = Run::new(&file, &[]).go().error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
    );
    assert_eq!(error["status"], 404);
    assert_eq!(
        error["detail"],
        format!(
            "GET http://{address}/missing.py answered 404 Not Found (script source at `/do/0/web/run/script/source`)"
        )
    );
}
