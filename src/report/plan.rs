//! The dry-run plan: what `workflow run --dry-run` prints instead of running. A pure walk over the
//! checked `Document` (which keeps every value as written, unlike the compiled machine) into a
//! small tree of steps, written as indented text or as one JSON document.

use serde::Serialize;

use super::plan_words as words;
use crate::document::{Document, FlowDirective, Task, TaskKind, TaskList};

/// The whole plan: the workflow's identity, what happens around its tasks, and the tasks in the
/// order they would run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// Workflow-level facts: input schema, input/output transforms, timeout, schedule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub steps: Vec<Step>,
}

/// One task of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: String,
    /// JSON pointer of the task (`/do/1/route`).
    pub pointer: String,
    /// The task type (`call`, `run`, `set`, ...).
    pub kind: String,
    /// What the task does, as far as it is known without running it.
    pub detail: String,
    /// `if`, timeout and `then`, in that order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Nested task lists (a `do`, loop body, fork branches, `try` and `catch`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
}

/// A nested task list; `label` names it when a task holds more than one kind of list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub steps: Vec<Step>,
}

impl Plan {
    /// The plan of a checked document. Nothing is evaluated: expressions appear as written.
    pub fn of(document: &Document) -> Plan {
        Plan {
            namespace: document.meta.namespace.clone(),
            name: document.meta.name.clone(),
            version: document.meta.version.clone(),
            notes: words::workflow_notes(document),
            steps: steps(&document.do_, document),
        }
    }

    /// How many tasks the plan holds, at every depth.
    pub fn task_count(&self) -> usize {
        fn count(steps: &[Step]) -> usize {
            steps
                .iter()
                .map(|step| 1 + step.sections.iter().map(|s| count(&s.steps)).sum::<usize>())
                .sum()
        }
        count(&self.steps)
    }

    /// The plan as indented text: a header, the workflow notes, then one line per task
    /// (`name  kind  detail · notes`), names aligned within each list.
    pub fn to_text(&self) -> String {
        let tasks = match self.task_count() {
            1 => "1 task".to_string(),
            n => format!("{n} tasks"),
        };
        let mut out = format!(
            "plan of {}/{} {} ({tasks}, nothing executed)\n",
            self.namespace, self.name, self.version
        );
        for note in &self.notes {
            out.push_str(&format!("  · {note}\n"));
        }
        write_steps(&mut out, &self.steps, 1);
        out
    }

    /// The plan as one JSON document.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn write_steps(out: &mut String, steps: &[Step], depth: usize) {
    let indent = "  ".repeat(depth);
    let name_width = steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let kind_width = steps.iter().map(|s| s.kind.len()).max().unwrap_or(0);
    for step in steps {
        let mut tail: Vec<&str> = Vec::new();
        if !step.detail.is_empty() {
            tail.push(&step.detail);
        }
        tail.extend(step.notes.iter().map(String::as_str));
        let line = format!(
            "{indent}{:name_width$}  {:kind_width$}  {}",
            step.name,
            step.kind,
            tail.join(" · ")
        );
        out.push_str(line.trim_end());
        out.push('\n');
        for section in &step.sections {
            match &section.label {
                Some(label) => {
                    out.push_str(&format!("{indent}  {label}:\n"));
                    write_steps(out, &section.steps, depth + 2);
                }
                None => write_steps(out, &section.steps, depth + 1),
            }
        }
    }
}

fn steps(list: &TaskList, document: &Document) -> Vec<Step> {
    list.iter().map(|task| step(task, document)).collect()
}

fn step(task: &Task, document: &Document) -> Step {
    let mut notes = Vec::new();
    if let Some(condition) = &task.common.if_ {
        notes.push(format!("if {}", words::expression(condition)));
    }
    if let Some(timeout) = &task.common.timeout {
        notes.push(words::timeout(timeout, document));
    }
    match &task.common.then {
        FlowDirective::Continue => {}
        FlowDirective::Goto(reference) => notes.push(format!("then → {}", reference.name)),
        other => notes.push(format!("then {}", words::target(other))),
    }
    let unlabelled = |list: &TaskList| Section {
        label: None,
        steps: steps(list, document),
    };
    let sections = match &task.kind {
        TaskKind::Do(do_) => vec![unlabelled(&do_.do_)],
        TaskKind::For(for_) => vec![unlabelled(&for_.do_)],
        TaskKind::Fork(fork) => vec![unlabelled(&fork.branches)],
        TaskKind::Try(try_) => {
            let mut sections = vec![Section {
                label: Some("try".into()),
                steps: steps(&try_.try_, document),
            }];
            if let Some(list) = &try_.catch.do_ {
                sections.push(Section {
                    label: Some("catch".into()),
                    steps: steps(list, document),
                });
            }
            sections
        }
        // Listeners and subscriptions run their `foreach.do` once per consumed event.
        _ => task
            .child_lists()
            .into_iter()
            .map(|list| Section {
                label: Some("for each event".into()),
                steps: steps(list, document),
            })
            .collect(),
    };
    Step {
        name: task.name.clone(),
        pointer: task.pointer.clone(),
        kind: task.kind.type_name().to_string(),
        detail: words::detail(task, document),
        notes,
        sections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend;
    use crate::source::Source;
    use std::path::{Path, PathBuf};

    fn checked(name: &str, text: &str) -> Document {
        let checked = frontend::check_source(Source::new(name, text.to_string()));
        match checked.valid_document() {
            Some(document) => document.clone(),
            None => panic!("{name} is not valid: {:#?}", checked.diagnostics),
        }
    }

    fn plan(text: &str) -> String {
        Plan::of(&checked("test.yaml", text)).to_text()
    }

    const HEAD: &str = "document: {dsl: '1.0.3', namespace: t, name: p, version: '1.0.0'}\n";

    #[test]
    fn nested_lists_are_indented_and_names_aligned() {
        let text = plan(&format!(
            "{HEAD}do:
  - a:
      set: {{x: 1, y: '${{ .y }}'}}
  - longer:
      do:
        - inner:
            wait: {{seconds: 1, milliseconds: 500}}
      then: end
"
        ));
        assert_eq!(
            text,
            "plan of t/p 1.0.0 (3 tasks, nothing executed)\n  \
             a       set  keys x, y\n  \
             longer  do   1 task · then end\n    \
             inner  wait  1.5s\n"
        );
    }

    #[test]
    fn try_and_catch_are_labelled_sections() {
        let document = checked(
            "t.yaml",
            &format!(
                "{HEAD}do:
  - guarded:
      try:
        - boom:
            raise:
              error: {{type: https://x/errors/oops, status: 500}}
      catch:
        errors: {{with: {{status: 500}}}}
        retry:
          delay: {{seconds: 1}}
          backoff: {{exponential: {{}}}}
          limit: {{attempt: {{count: 3}}}}
        do:
          - recover:
              set: {{ok: true}}
"
            ),
        );
        let plan = Plan::of(&document);
        assert_eq!(plan.task_count(), 3);
        let guarded = &plan.steps[0];
        assert_eq!(
            guarded.detail,
            "catch errors with status 500 · retry up to 3 times, exponential from 1s"
        );
        let labels: Vec<_> = guarded.sections.iter().map(|s| s.label.clone()).collect();
        assert_eq!(labels, vec![Some("try".into()), Some("catch".into())]);
        assert_eq!(
            guarded.sections[0].steps[0].pointer,
            "/do/0/guarded/try/0/boom"
        );
        let json = plan.to_json();
        assert_eq!(
            json["steps"][0]["sections"][1]["steps"][0]["name"],
            "recover"
        );
        assert_eq!(json["name"], "p");
    }

    #[test]
    fn loops_forks_timeouts_and_jumps_are_described() {
        let document = checked(
            "t.yaml",
            &format!(
                "{HEAD}use:
  timeouts:
    short: {{after: PT90S}}
timeout:
  after: {{minutes: 5}}
do:
  - each:
      for: {{each: pet, in: '${{ .pets }}', at: i}}
      timeout: short
      do:
        - race:
            fork:
              compete: true
              branches:
                - one: {{wait: PT1S}}
                - two: {{wait: PT2S}}
            then: exit
  - again:
      if: ${{ .retry }}
      set: '${{ . }}'
      then: each
"
            ),
        );
        let plan = Plan::of(&document);
        assert_eq!(plan.notes, vec!["timeout 5m".to_string()]);
        let each = &plan.steps[0];
        assert_eq!(each.detail, "for each pet in ${ .pets } at i");
        assert_eq!(each.notes, vec!["timeout 1m 30s (short)".to_string()]);
        let race = &each.sections[0].steps[0];
        assert_eq!(race.detail, "2 branches, compete: the first to finish wins");
        assert_eq!(race.notes, vec!["then exit".to_string()]);
        let again = &plan.steps[1];
        assert_eq!(again.detail, "${ . }");
        assert_eq!(
            again.notes,
            vec!["if ${ .retry }".to_string(), "then → each".to_string()]
        );
    }

    fn workflow_files(dir: &Path) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml")));
        paths.sort();
        paths
    }

    fn snapshot_file(path: &Path, prefix: &str) {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("doc");
        let plan = Plan::of(&checked(stem, &text));
        insta::assert_snapshot!(format!("{prefix}{stem}"), plan.to_text());
    }

    #[test]
    fn plans_of_the_repository_workflows() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        let paths = workflow_files(&dir);
        assert!(paths.len() >= 4, "workflows/ holds {} files", paths.len());
        for path in paths {
            snapshot_file(&path, "workflows-");
        }
    }

    #[test]
    fn plans_of_some_spec_examples() {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/spec/examples"
        ));
        if !dir.is_dir() {
            println!("note: ../shared/spec/examples is absent; skipping");
            return;
        }
        for name in [
            "call-http-endpoint-interpolation",
            "call-custom-function-inline",
            "try-catch-retry-reusable",
            "switch-then-string",
            "for",
            "fork",
            "run-script-with-stdin-and-arguments",
            "run-shell-stdin-and-arguments",
            "emit",
            "wait-duration-iso8601",
            "raise-reusable",
            "listen-to-any-until-condition",
            "call-grpc",
        ] {
            let path = dir.join(format!("{name}.yaml"));
            if path.is_file() {
                snapshot_file(&path, "spec-");
            } else {
                println!("note: no spec example {name}");
            }
        }
    }
}
