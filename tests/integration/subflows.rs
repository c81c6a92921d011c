//! `run: workflow` through the real binary: where children are found, what goes in and comes
//! out, where a child's error points, the depth bound, the shared step budget, background
//! children, and the events a child publishes.

use std::path::Path;

use crate::support::procs::{self, Run};
use crate::support::{document, tempdir, write};
use serde_json::{Value, json};
use workflow::exit_code::ExitCode;

/// A parent whose second task runs `acme/child:VERSION` with `input` (YAML, indented) if given.
fn parent(dir: &Path, version: &str, input: Option<&str>) -> std::path::PathBuf {
    let input = input
        .map(|text| format!("          input:\n{text}"))
        .unwrap_or_default();
    write(
        dir,
        "parent.yaml",
        &document(
            "acme",
            "parent",
            "1.0.0",
            &format!(
                "do:\n  - prepare:\n      set:\n        user: {{ name: Ada }}\n        n: 2\n  - child:\n      run:\n        workflow:\n          namespace: acme\n          name: child\n          version: '{version}'\n{input}"
            ),
        ),
    )
}

/// A child that says where it lives and echoes its input.
fn child(dir: &Path, file: &str, version: &str, place: &str) {
    write(
        dir,
        file,
        &document(
            "acme",
            "child",
            version,
            &format!(
                "do:\n  - answer:\n      set:\n        from: {place}\n        got: ${{ . }}\n"
            ),
        ),
    );
}

#[test]
fn the_child_gets_the_evaluated_input_and_its_output_is_the_tasks() {
    let dir = tempdir();
    let file = parent(
        dir.path(),
        "0.1.0",
        Some("            who: ${ .user.name }\n            twice: ${ .n * 2 }\n"),
    );
    child(dir.path(), "child.yaml", "0.1.0", "here");
    let ran = Run::new(&file, &[]).go();
    assert_eq!(
        ran.output(),
        json!({"from": "here", "got": {"who": "Ada", "twice": 4}})
    );
    // Without `input`, the child gets the task's input.
    let file = parent(dir.path(), "0.1.0", None);
    assert_eq!(
        Run::new(&file, &[]).go().output()["got"],
        json!({"user": {"name": "Ada"}, "n": 2})
    );
}

#[test]
fn the_parents_directory_comes_first_then_workflows_dirs_then_dot_workflows() {
    let (home, near, far, cwd) = (tempdir(), tempdir(), tempdir(), tempdir());
    let file = parent(near.path(), "1.0.0", None);
    child(near.path(), "child.yaml", "1.0.0", "near");
    child(far.path(), "child.yml", "1.0.0", "far");
    child(
        &cwd.path().join("workflows"),
        "child.json.yaml",
        "1.0.0",
        "cwd",
    );
    let far_arg = far.path().display().to_string();
    let run = |file: &Path| {
        Run::new(file, &["--workflows", &far_arg])
            .dir(cwd.path())
            .go()
            .output()["from"]
            .clone()
    };
    assert_eq!(run(&file), "near");
    std::fs::remove_file(near.path().join("child.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run(&file), "far");
    std::fs::remove_file(far.path().join("child.yml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run(&file), "cwd");
    // A relative document path: its directory is taken relative to the current directory.
    let moved = parent(&home.path().join("flows"), "1.0.0", None);
    child(&home.path().join("flows"), "c.yaml", "1.0.0", "beside");
    let relative = Path::new("flows").join(moved.file_name().unwrap_or_default());
    assert_eq!(
        Run::new(&relative, &[]).dir(home.path()).go().output()["from"],
        "beside"
    );
}

#[test]
fn latest_runs_the_highest_version() {
    let dir = tempdir();
    let file = parent(dir.path(), "latest", None);
    child(dir.path(), "a.yaml", "1.2.0", "one-two");
    child(dir.path(), "b.yaml", "1.10.0", "one-ten");
    assert_eq!(Run::new(&file, &[]).go().output()["from"], "one-ten");
}

#[test]
fn a_childs_error_keeps_its_type_and_points_inside_the_child() {
    let dir = tempdir();
    let file = parent(dir.path(), "1.0.0", None);
    write(
        dir.path(),
        "child.yaml",
        &document(
            "acme",
            "child",
            "1.0.0",
            "do:\n  - fine:\n      set: { a: 1 }\n  - inner:\n      raise:\n        error:\n          type: https://example.com/errors/teapot\n          status: 418\n          title: I am a teapot\n",
        ),
    );
    let ran = Run::new(&file, &[]).go();
    assert_eq!(ran.code, ExitCode::Faulted as i32);
    assert_eq!(
        ran.error(),
        json!({
            "type": "https://example.com/errors/teapot",
            "status": 418,
            "title": "I am a teapot",
            "instance": "/do/1/child/do/1/inner"
        })
    );
    // The parent may catch it by type like any error.
    let catching = write(
        dir.path(),
        "catching.yaml",
        &document(
            "acme",
            "catching",
            "1.0.0",
            "do:\n  - guarded:\n      try:\n        - child:\n            run:\n              workflow:\n                namespace: acme\n                name: child\n                version: '1.0.0'\n      catch:\n        errors:\n          with:\n            type: https://example.com/errors/teapot\n        as: oops\n        do:\n          - recover:\n              set:\n                caught: ${ $oops.instance }\n",
        ),
    );
    assert_eq!(
        Run::new(&catching, &[]).go().output(),
        json!({"caught": "/do/0/guarded/try/0/child/do/1/inner"})
    );
}

#[test]
fn a_workflow_running_itself_stops_at_the_depth_limit() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "again.yaml",
        &document(
            "acme",
            "again",
            "1.0.0",
            "do:\n  - again:\n      run:\n        workflow:\n          namespace: acme\n          name: again\n          version: '1.0.0'\n",
        ),
    );
    let error = Run::new(&file, &[]).go().error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert_eq!(error["title"], "Sub-workflow depth limit");
    // Sixteen levels of `/do/0/again`, then the task that would have gone one deeper.
    assert_eq!(error["instance"], "/do/0/again".repeat(17));
}

#[test]
fn a_missing_child_names_where_it_was_looked_for() {
    let dir = tempdir();
    let file = parent(dir.path(), "2.0.0", None);
    child(dir.path(), "child.yaml", "1.0.0", "here");
    let error = Run::new(&file, &[]).dir(dir.path()).go().error();
    assert_eq!(error["title"], "Sub-workflow not found");
    assert_eq!(error["status"], 400);
    assert_eq!(error["instance"], "/do/1/child");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!(
            "no document defines acme/child:2.0.0 in `{}`",
            dir.path().display()
        )),
        "{detail}"
    );
    assert!(detail.ends_with("; versions found: 1.0.0"), "{detail}");
}

#[test]
fn an_invalid_child_is_a_configuration_error_naming_the_file_and_line() {
    let dir = tempdir();
    let file = parent(dir.path(), "1.0.0", None);
    let path = write(
        dir.path(),
        "child.yaml",
        &document(
            "acme",
            "child",
            "1.0.0",
            "do:\n  - broken:\n      set: { a: 1 }\n      then: nowhere\n",
        ),
    );
    let error = Run::new(&file, &[]).go().error();
    assert_eq!(error["title"], "Invalid sub-workflow");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("`{}` (line 9, column", path.display())),
        "{detail}"
    );
    assert!(detail.contains("nowhere"), "{detail}");
}

#[test]
fn the_step_budget_counts_the_childs_tasks() {
    let dir = tempdir();
    let file = parent(dir.path(), "1.0.0", None);
    child(dir.path(), "child.yaml", "1.0.0", "here");
    // prepare, child, answer: three steps.
    assert_eq!(Run::new(&file, &["--max-steps", "3"]).go().code, 0);
    let error = Run::new(&file, &["--max-steps", "2"]).go().error();
    assert_eq!(error["title"], "Step budget exceeded");
    assert_eq!(error["instance"], "/do/1/child/do/0/answer");
}

#[test]
fn a_child_that_is_not_awaited_finishes_before_the_run_ends() {
    let dir = tempdir();
    let marker = dir.path().join("marker");
    let file = write(
        dir.path(),
        "parent.yaml",
        &document(
            "acme",
            "parent",
            "1.0.0",
            "do:\n  - child:\n      run:\n        await: false\n        workflow:\n          namespace: acme\n          name: slow\n          version: '1.0.0'\n  - after:\n      set:\n        parent: done\n        saw: ${ . }\n",
        ),
    );
    write(
        dir.path(),
        "slow.yaml",
        &document(
            "acme",
            "slow",
            "1.0.0",
            "do:\n  - nap:\n      wait:\n        milliseconds: 300\n  - mark:\n      run:\n        shell:\n          command: 'echo child > \"$1\"'\n          arguments: [ '${ $workflow.input.marker }' ]\n",
        ),
    );
    let input = json!({"marker": marker.display().to_string()}).to_string();
    let ran = Run::new(&file, &["--input", &input]).go();
    // Not awaited: the task's output is its input, not the child's output.
    assert_eq!(
        ran.output(),
        json!({"parent": "done", "saw": {"marker": marker.display().to_string()}})
    );
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap_or_default(),
        "child\n",
        "the run ended before its background child"
    );
}

#[test]
fn the_child_publishes_its_own_workflow_events() {
    let dir = tempdir();
    let file = parent(dir.path(), "1.0.0", None);
    child(dir.path(), "child.yaml", "1.0.0", "here");
    let events = dir.path().join("events.jsonl");
    let ran = Run::new(&file, &["--events", &events.display().to_string()]).go();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
        .collect();
    let summary: Vec<(String, String)> = lines
        .iter()
        .map(|event| {
            let kind = event["type"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("io.serverlessworkflow.")
                .to_owned();
            let who = event["data"]["workflow"]
                .as_str()
                .or(event["data"]["name"].as_str())
                .unwrap_or_default()
                .to_owned();
            (kind, who)
        })
        .filter(|(kind, _)| kind.starts_with("workflow."))
        .collect();
    let pair = |kind: &str, who: &str| (kind.to_owned(), who.to_owned());
    assert_eq!(
        summary,
        [
            pair("workflow.started.v1", "parent.acme:1.0.0"),
            pair("workflow.started.v1", "child.acme:1.0.0"),
            pair("workflow.completed.v1", "child.acme:1.0.0"),
            pair("workflow.completed.v1", "parent.acme:1.0.0"),
        ]
    );
    // The child's events have a run id of their own in their source.
    let sources: Vec<&str> = lines
        .iter()
        .filter_map(|event| event["source"].as_str())
        .collect();
    assert!(
        sources
            .iter()
            .any(|s| s.starts_with("/workflows/acme/child/1.0.0/runs/"))
    );
}

#[test]
fn a_workflows_dir_that_does_not_exist_is_a_usage_error() {
    let dir = tempdir();
    let file = parent(dir.path(), "1.0.0", None);
    let ran = Run::new(&file, &["--workflows", "/nonexistent/flows"]).go();
    assert_eq!(ran.code, ExitCode::Usage as i32);
    assert_eq!(
        ran.stderr,
        "error: --workflows /nonexistent/flows: not a directory\n"
    );
}

#[test]
fn a_parent_timeout_cancels_the_child() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "parent.yaml",
        &document(
            "acme",
            "parent",
            "1.0.0",
            "do:\n  - child:\n      timeout:\n        after:\n          milliseconds: 300\n      run:\n        workflow:\n          namespace: acme\n          name: sleepy\n          version: '1.0.0'\n",
        ),
    );
    write(
        dir.path(),
        "sleepy.yaml",
        &document(
            "acme",
            "sleepy",
            "1.0.0",
            "do:\n  - nap:\n      wait:\n        seconds: 60\n",
        ),
    );
    let events = dir.path().join("events.jsonl");
    let started = std::time::Instant::now();
    let ran = Run::new(&file, &["--events", &events.display().to_string()]).go();
    assert!(started.elapsed() < procs::SOON);
    let error = ran.error();
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/timeout"
    );
    assert_eq!(error["instance"], "/do/0/child");
    let types: Vec<String> = std::fs::read_to_string(&events)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or(Value::Null))
        .filter(|event| {
            event["data"]["name"] == "sleepy.acme:1.0.0"
                || event["data"]["workflow"] == "sleepy.acme:1.0.0"
        })
        .map(|event| event["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        types.last().map(String::as_str),
        Some("io.serverlessworkflow.workflow.cancelled.v1"),
        "{types:?}"
    );
    assert!(
        types.contains(&"io.serverlessworkflow.task.cancelled.v1".to_owned()),
        "{types:?}"
    );
}

#[test]
fn a_childs_secrets_must_be_declared_by_the_top_level_workflow() {
    let dir = tempdir();
    let file = parent(dir.path(), "1.0.0", None);
    write(
        dir.path(),
        "child.yaml",
        &document(
            "acme",
            "child",
            "1.0.0",
            "use:\n  secrets: [ TOKEN ]\ndo:\n  - use:\n      set: { long: '${ $secrets.TOKEN | length }' }\n",
        ),
    );
    let ran = Run::new(&file, &[])
        .env("WORKFLOW_SECRET_TOKEN", "abcdef")
        .go();
    let error = ran.error();
    assert_eq!(error["status"], 403);
    assert_eq!(error["instance"], "/do/1/child");
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .ends_with("must also be declared in the `use.secrets` of the workflow run from the command line, which loads them"),
        "{error}"
    );
    let declaring = std::fs::read_to_string(&file).unwrap_or_default().replace(
        "do:\n  - prepare",
        "use:\n  secrets: [ TOKEN ]\ndo:\n  - prepare",
    );
    std::fs::write(&file, declaring).unwrap_or_else(|e| panic!("{e}"));
    let ran = Run::new(&file, &[])
        .env("WORKFLOW_SECRET_TOKEN", "abcdef")
        .go();
    assert_eq!(ran.output(), json!({"long": 6}));
}
