//! Engine tests: data flow order, runtime arguments, flow directives and the task kinds that
//! need no time (set, do, switch, for, fork, raise, emit, run).

use serde_json::json;

use super::test_support::{doc, fault, output};

#[tokio::test]
async fn set_replaces_the_output_and_data_flows_between_tasks() {
    let yaml = doc(r#"do:
  - first:
      set:
        a: ${ .x + 1 }
        fixed: .x
  - second:
      set: '${ { b: (.a * 10), kept: .fixed } }'
"#);
    assert_eq!(
        output(&yaml, json!({"x": 1, "drop": true})).await,
        json!({"b": 20, "kept": ".x"})
    );
}

#[tokio::test]
async fn non_object_values_flow() {
    let yaml = doc(r#"do:
  - number:
      set: ${ 41 }
  - plusOne:
      set: ${ . + 1 }
  - wrap:
      set: ${ [., "x"] }
"#);
    assert_eq!(output(&yaml, json!({})).await, json!([42, "x"]));
}

#[tokio::test]
async fn task_data_flow_follows_the_spec_order() {
    // if sees the raw input; input.from transforms it; output.as sees the raw output and
    // $input; export.as sees the transformed output and replaces $context.
    let yaml = doc(r#"do:
  - step:
      if: ${ .go }
      input:
        from: '${ { n: .value } }'
      set:
        doubled: ${ .n * 2 }
        sawInput: ${ $input.n }
      output:
        as: '${ { result: .doubled, input: $input, raw: $task.output.doubled } }'
      export:
        as: '${ $context + { last: .result, out: $output.result } }'
  - next:
      set:
        context: ${ $context }
        previous: ${ . }
"#);
    assert_eq!(
        output(&yaml, json!({"go": true, "value": 4})).await,
        json!({
            "context": {"last": 8, "out": 8},
            "previous": {"result": 8, "input": {"n": 4}, "raw": 8}
        })
    );
}

#[tokio::test]
async fn a_false_if_skips_the_task_and_keeps_the_raw_input() {
    let yaml = doc(r#"do:
  - skipped:
      if: .skip | not
      set:
        touched: true
  - after:
      set:
        before: ${ . }
"#);
    assert_eq!(
        output(&yaml, json!({"skip": true})).await,
        json!({"before": {"skip": true}})
    );
}

#[tokio::test]
async fn initial_context_is_an_empty_object_and_exports_accumulate() {
    let yaml = doc(r#"do:
  - one:
      set: { a: 1 }
      export:
        as: '${ $context + { one: .a } }'
  - two:
      set: ${ $context }
      export:
        as: '$context + { two: 2 }'
  - three:
      set:
        now: ${ $context }
        before: ${ . }
"#);
    assert_eq!(
        output(&yaml, json!({})).await,
        json!({"now": {"one": 1, "two": 2}, "before": {"one": 1}})
    );
}

#[tokio::test]
async fn workflow_input_and_output_transforms() {
    let yaml = doc(r#"input:
  from: ${ .payload }
output:
  as: '${ { done: ., raw: $workflow.input.payload.n } }'
do:
  - inc:
      set:
        n: ${ .n + 1 }
"#);
    assert_eq!(
        output(&yaml, json!({"payload": {"n": 1}})).await,
        json!({"done": {"n": 2}, "raw": 1})
    );
}

#[tokio::test]
async fn runtime_arguments_are_bound() {
    let yaml = doc(r#"do:
  - inspect:
      set:
        name: ${ $task.name }
        reference: ${ $task.reference }
        definitionKeys: ${ $task.definition | keys }
        rawInput: ${ $task.input }
        startedIsText: ${ $task.startedAt.iso8601 | type }
        epochMs: ${ $task.startedAt.epoch.milliseconds > 0 }
        workflowName: ${ $workflow.definition.document.name }
        workflowInput: ${ $workflow.input }
        workflowIdIsText: ${ $workflow.id | type }
        runtime: ${ $runtime.name }
        version: ${ $runtime.version | length > 0 }
        secrets: ${ $secrets }
        authorization: ${ $authorization }
"#);
    assert_eq!(
        output(&yaml, json!({"k": 1})).await,
        json!({
            "name": "inspect",
            "reference": "/do/0/inspect",
            "definitionKeys": ["set"],
            "rawInput": {"k": 1},
            "startedIsText": "string",
            "epochMs": true,
            "workflowName": "t",
            "workflowInput": {"k": 1},
            "workflowIdIsText": "string",
            "runtime": "workflow",
            "version": true,
            "secrets": {},
            "authorization": null
        })
    );
}

#[tokio::test]
async fn then_jumps_exit_and_end() {
    // A backward jump loops until the counter reaches 3; `exit` leaves only the inner list;
    // `end` stops everything.
    let yaml = doc(r#"do:
  - init:
      set: { n: 0 }
  - inc:
      set: { n: '${ .n + 1 }' }
  - check:
      switch:
        - again:
            when: .n < 3
            then: inc
        - done:
            then: nested
  - skipped:
      set: { wrong: true }
  - nested:
      do:
        - leave:
            set: { n: '${ .n }', left: true }
            then: exit
        - never:
            set: { wrong: true }
  - finish:
      set: '${ . + { finished: true } }'
      then: end
  - unreachable:
      set: { wrong: true }
"#);
    assert_eq!(
        output(&yaml, json!({})).await,
        json!({"n": 3, "left": true, "finished": true})
    );
}

#[tokio::test]
async fn end_inside_nested_lists_ends_the_workflow_without_outer_transforms() {
    let yaml = doc(r#"do:
  - outer:
      do:
        - inner:
            set: { stop: true }
            then: end
      output:
        as: '${ { transformed: true } }'
  - after:
      set: { wrong: true }
"#);
    assert_eq!(output(&yaml, json!({})).await, json!({"stop": true}));
}

#[tokio::test]
async fn switch_falls_through_to_its_own_then_with_the_input() {
    let yaml = doc(r#"do:
  - route:
      switch:
        - red:
            when: .color == "red"
            then: paint
      then: end
  - paint:
      set: { painted: true }
"#);
    assert_eq!(
        output(&yaml, json!({"color": "blue"})).await,
        json!({"color": "blue"})
    );
    assert_eq!(
        output(&yaml, json!({"color": "red"})).await,
        json!({"painted": true})
    );
}

#[tokio::test]
async fn for_chains_iterations_and_binds_its_variables() {
    let yaml = doc(r#"do:
  - loop:
      for:
        each: color
        in: .colors
        at: i
      do:
        - add:
            set:
              seen: ${ .seen + [ "\($i):\($color)" ] }
"#);
    assert_eq!(
        output(&yaml, json!({"colors": ["red", "blue"], "seen": []})).await,
        json!({"seen": ["0:red", "1:blue"]})
    );
}

#[tokio::test]
async fn for_while_is_checked_before_each_iteration_and_empty_keeps_the_input() {
    let yaml = doc(r#"do:
  - loop:
      for:
        in: .items
      while: .total < 5
      do:
        - add:
            set:
              total: ${ .total + $item }
              items: ${ [] }
"#);
    assert_eq!(
        output(&yaml, json!({"items": [3, 4, 5], "total": 0})).await,
        json!({"total": 7, "items": []})
    );
    assert_eq!(
        output(&yaml, json!({"items": [], "total": 0})).await,
        json!({"items": [], "total": 0})
    );
}

#[tokio::test]
async fn nested_loops_shadow_their_variables() {
    let yaml = doc(r#"do:
  - outer:
      for:
        in: .rows
      do:
        - inner:
            for:
              in: ${ $item }
            do:
              - collect:
                  set:
                    cells: ${ .cells + [ $item ] }
"#);
    assert_eq!(
        output(&yaml, json!({"rows": [[1, 2], [3]], "cells": []})).await,
        json!({"cells": [1, 2, 3]})
    );
}

#[tokio::test]
async fn for_over_a_non_array_is_an_expression_error() {
    let yaml = doc(r#"do:
  - loop:
      for:
        in: .items
      do:
        - x:
            set: { a: 1 }
"#);
    let error = fault(&yaml, json!({"items": "abc"})).await;
    assert_eq!(error.status, 400);
    assert!(error.type_.ends_with("/expression"));
    assert_eq!(error.instance.as_deref(), Some("/do/0/loop"));
    assert!(
        error
            .detail
            .unwrap_or_default()
            .contains("must produce an array")
    );
    // `null` (a missing field) iterates zero times and keeps the input (decision 13).
    assert_eq!(output(&yaml, json!({"n": 1})).await, json!({"n": 1}));
}

#[tokio::test]
async fn fork_outputs_branches_in_declaration_order() {
    let yaml = doc(r#"do:
  - both:
      fork:
        branches:
          - a:
              set: { a: '${ .n }' }
          - b:
              set: ${ .n + 1 }
"#);
    assert_eq!(output(&yaml, json!({"n": 1})).await, json!([{"a": 1}, 2]));
}

#[tokio::test]
async fn raise_builds_the_error_with_expressions_and_its_pointer() {
    let yaml = doc(r#"use:
  errors:
    notFound:
      type: https://example.com/errors/not-found
      status: 404
      title: Not found
      detail: ${ "no item \(.id)" }
do:
  - wrap:
      do:
        - fail:
            raise:
              error: notFound
"#);
    let error = fault(&yaml, json!({"id": 7})).await;
    assert_eq!(
        error.to_json(),
        json!({
            "type": "https://example.com/errors/not-found",
            "status": 404,
            "instance": "/do/0/wrap/do/0/fail",
            "title": "Not found",
            "detail": "no item 7"
        })
    );
}

#[tokio::test]
async fn expression_failures_name_the_field() {
    let yaml = doc(r#"do:
  - bad:
      set:
        x: ${ .a + "s" }
"#);
    let error = fault(&yaml, json!({"a": 1})).await;
    assert_eq!(error.status, 400);
    assert!(error.type_.ends_with("/expression"));
    assert_eq!(error.instance.as_deref(), Some("/do/0/bad"));
    let detail = error.detail.unwrap_or_default();
    assert!(detail.contains("/do/0/bad/set"), "{detail}");
    assert!(detail.contains("cannot"), "{detail}");
}

#[tokio::test]
async fn conditions_follow_jq_truthiness() {
    // Decision 13: `null` and `false` are false, every other value is true.
    let yaml = doc(r#"do:
  - maybe:
      if: .flag
      set: { a: 1 }
"#);
    for (flag, runs) in [
        (json!("yes"), true),
        (json!(0), true),
        (json!([]), true),
        (json!(false), false),
        (json!(null), false),
    ] {
        let expected = if runs {
            json!({"a": 1})
        } else {
            json!({"flag": flag})
        };
        assert_eq!(output(&yaml, json!({"flag": flag})).await, expected);
    }
    // A missing field is null: the task is skipped, not faulted.
    assert_eq!(output(&yaml, json!({})).await, json!({}));
}

#[tokio::test]
async fn schemas_are_checked_at_each_stage() {
    let yaml = doc(r#"input:
  schema:
    document:
      type: object
      required: [ n ]
do:
  - step:
      set: { n: '${ .n }' }
      output:
        schema:
          document:
            type: object
            properties:
              n: { type: integer }
"#);
    assert_eq!(output(&yaml, json!({"n": 2})).await, json!({"n": 2}));
    let error = fault(&yaml, json!({})).await;
    assert_eq!(error.status, 400);
    assert!(error.type_.ends_with("/validation"));
    assert_eq!(error.instance.as_deref(), Some("/"));
    assert_eq!(
        error.title.as_deref(),
        Some("Workflow input does not match its schema")
    );
    let error = fault(&yaml, json!({"n": "two"})).await;
    assert_eq!(error.instance.as_deref(), Some("/do/0/step"));
    assert_eq!(
        error.title.as_deref(),
        Some("Task output does not match its schema")
    );
}

#[tokio::test]
async fn emit_outputs_the_full_cloudevent() {
    let yaml = doc(r#"do:
  - tell:
      emit:
        event:
          with:
            source: https://example.com
            type: com.example.greeted
            subject: ${ .who }
            data:
              greeting: ${ "hi \(.who)" }
"#);
    let event = output(&yaml, json!({"who": "Ada"})).await;
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["source"], "https://example.com");
    assert_eq!(event["type"], "com.example.greeted");
    assert_eq!(event["subject"], "Ada");
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["data"], json!({"greeting": "hi Ada"}));
    assert!(event["id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(event["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn unsupported_tasks_raise_a_configuration_error_naming_the_feature() {
    let yaml = doc(r#"do:
  - greet:
      run:
        script:
          language: ruby
          code: puts 1
"#);
    let error = fault(&yaml, json!({})).await;
    assert_eq!(error.status, 400);
    assert!(error.type_.ends_with("/configuration"));
    assert_eq!(
        error.title.as_deref(),
        Some("scripts in `ruby` are not supported by this runtime (javascript or python)")
    );
}

#[tokio::test]
async fn the_step_budget_stops_endless_loops() {
    let yaml = doc(r#"do:
  - spin:
      set: { a: 1 }
      then: spin
"#);
    let machine = super::test_support::machine(&yaml);
    let options = super::RunOptions {
        max_steps: 1_000,
        ..super::RunOptions::default()
    };
    let result = super::run(
        machine,
        json!({}),
        options,
        super::test_support::no_processes(),
        std::sync::Arc::new(super::event::NoEvents),
    )
    .await;
    let super::Outcome::Faulted(error) = result.outcome else {
        panic!("expected a fault, got {:?}", result.outcome);
    };
    assert!(error.type_.ends_with("/runtime"));
    assert_eq!(
        error.detail.as_deref(),
        Some("step budget of 1000 tasks exceeded (a `then` loop or a `for` that does not end?)")
    );
}

#[tokio::test]
async fn the_events_of_a_task_name_the_task_it_runs_inside() {
    use super::event::EventKind;
    use super::test_support::{Recorder, machine, no_processes};
    let yaml = doc(r#"do:
  - loop:
      for:
        each: x
        in: ${ [1, 2] }
      do:
        - inner:
            set: {v: 1}
  - guard:
      try:
        - risky:
            raise:
              error:
                type: https://example.com/boom
                status: 500
      catch:
        do:
          - fix:
              set: {b: 1}
  - both:
      fork:
        branches:
          - left:
              set: {l: 1}
          - right:
              set: {r: 1}
"#);
    let recorder = Recorder::new();
    let result = super::run(
        machine(&yaml),
        json!({}),
        super::RunOptions::default(),
        no_processes(),
        recorder.clone(),
    )
    .await;
    assert!(matches!(result.outcome, super::Outcome::Completed(_)));
    let events = recorder
        .events
        .lock()
        .map(|events| events.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut started: Vec<(String, String)> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskStarted))
        .map(|e| {
            (
                e.task.as_deref().unwrap_or("?").to_owned(),
                e.parent.as_deref().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    // The fork's branches may start in either order.
    started.sort();
    let expected: Vec<(String, String)> = [
        ("/do/0/loop", "-"),
        ("/do/0/loop/do/0/inner", "/do/0/loop"),
        ("/do/0/loop/do/0/inner", "/do/0/loop"),
        ("/do/1/guard", "-"),
        ("/do/1/guard/catch/do/0/fix", "/do/1/guard"),
        ("/do/1/guard/try/0/risky", "/do/1/guard"),
        ("/do/2/both", "-"),
        ("/do/2/both/fork/branches/0/left", "/do/2/both"),
        ("/do/2/both/fork/branches/1/right", "/do/2/both"),
    ]
    .iter()
    .map(|(task, parent)| ((*task).to_owned(), (*parent).to_owned()))
    .collect();
    assert_eq!(started, expected);
    // The end of an execution names its parent too; annotations and workflow events do not.
    for event in &events {
        let ends = matches!(
            event.kind,
            EventKind::TaskCompleted { .. } | EventKind::TaskFaulted { .. }
        );
        if ends && event.task.as_deref() == Some("/do/1/guard/try/0/risky") {
            assert_eq!(event.parent.as_deref(), Some("/do/1/guard"));
        }
        if !event.kind.is_task_event() {
            assert!(event.parent.is_none());
        }
    }
}
