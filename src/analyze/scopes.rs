//! Where runtime expressions are and what they may see: the always-expression fields (decision 3),
//! the variables each part of the document adds (`for.each`/`for.at`, `catch.as`, `foreach`), and
//! the parts that hold no expressions at all (metadata, inline schemas, script code).
//!
//! Built from the typed document, as JSON pointers, so the walk over the raw JSON that finds
//! every `${ }` string can tell what each string is and which variables it may use.

use std::collections::{HashMap, HashSet};

use crate::document::{
    CallTask, ConsumeLimit, ConsumptionStrategy, Document, EventFilter, Export, Expression, Input,
    Output, Process, RetryPolicy, RetryRef, ScriptSource, SubscriptionIterator, Task, TaskKind,
    Transform, Until,
};
use crate::pointer;

/// Variables every expression may use: the compiler's runtime arguments, in its slot order.
pub(crate) use crate::compile::scope::BASE_VARS as BASE_VARIABLES;

/// The expression map of one document.
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    /// Pointers of fields that are expressions with or without `${ }`.
    pub(crate) always: HashSet<String>,
    /// Variables (without `$`) added for the subtree at a pointer.
    pub(crate) added: HashMap<String, Vec<String>>,
    /// Subtrees that hold no expressions.
    pub(crate) skipped: HashSet<String>,
    /// For help texts: where each scoped variable name is defined ("`for` task `loop`").
    pub(crate) defined_by: HashMap<String, String>,
}

impl Scopes {
    pub(crate) fn of(document: &Document) -> Scopes {
        let mut scopes = Scopes::default();
        for root in ["document", "evaluate"] {
            scopes.skipped.insert(pointer::join("", root));
        }
        scopes.skipped.insert("/use/secrets".to_string());
        if let Some(input) = &document.input {
            scopes.input(input);
        }
        if let Some(output) = &document.output {
            scopes.output(output);
        }
        if let Some(strategy) = document.schedule.as_ref().and_then(|s| s.on.as_ref()) {
            scopes.strategy(strategy);
        }
        let uses = &document.use_;
        for extension in &uses.extensions {
            scopes.always_opt(extension.when.as_ref());
        }
        for retry in &uses.retries {
            scopes.retry(&retry.value);
        }
        let tasks = document.tasks();
        // A reusable retry policy runs inside whichever `catch` uses it: any catch's error
        // variable may appear in its `when`.
        let mut error_names = vec!["error".to_string()];
        for visit in &tasks {
            if let TaskKind::Try(task) = &visit.task.kind {
                error_names.push(task.catch.variable().to_string());
            }
        }
        scopes.add("/use/retries", error_names);
        for visit in &tasks {
            scopes.task(visit.task);
        }
        scopes
    }

    fn add(&mut self, at: &str, names: Vec<String>) {
        self.added.entry(at.to_string()).or_default().extend(names);
    }

    fn define(&mut self, names: &[&str], by: String) {
        for name in names {
            self.defined_by
                .entry((*name).to_string())
                .or_insert_with(|| by.clone());
        }
    }

    fn always(&mut self, expression: &Expression) {
        self.always.insert(expression.pointer.clone());
    }

    fn always_opt(&mut self, expression: Option<&Expression>) {
        if let Some(expression) = expression {
            self.always(expression);
        }
    }

    fn transform(&mut self, transform: Option<&Transform>) {
        if let Some(Transform::Expression(expression)) = transform {
            self.always(expression);
        }
    }

    fn input(&mut self, input: &Input) {
        self.transform(input.from.as_ref());
        if input.schema.is_some() {
            self.skipped.insert(pointer::join(&input.pointer, "schema"));
        }
    }

    fn output(&mut self, output: &Output) {
        self.transform(output.as_.as_ref());
        if output.schema.is_some() {
            self.skipped
                .insert(pointer::join(&output.pointer, "schema"));
        }
    }

    fn export(&mut self, export: &Export) {
        self.transform(export.as_.as_ref());
        if export.schema.is_some() {
            self.skipped
                .insert(pointer::join(&export.pointer, "schema"));
        }
    }

    fn retry(&mut self, retry: &RetryPolicy) {
        self.always_opt(retry.when.as_ref());
        self.always_opt(retry.except_when.as_ref());
    }

    fn strategy(&mut self, strategy: &ConsumptionStrategy) {
        match strategy {
            ConsumptionStrategy::All { filters, .. } => filters.iter().for_each(|f| self.filter(f)),
            ConsumptionStrategy::Any { filters, until, .. } => {
                filters.iter().for_each(|f| self.filter(f));
                match until.as_deref() {
                    Some(Until::Expression(expression)) => self.always(expression),
                    Some(Until::Events(strategy)) => self.strategy(strategy),
                    None => {}
                }
            }
            ConsumptionStrategy::One { filter, .. } => self.filter(filter),
        }
    }

    fn filter(&mut self, filter: &EventFilter) {
        for correlation in &filter.correlate {
            self.always(&correlation.from);
            self.always_opt(correlation.expect.as_ref());
        }
    }

    fn iterator(&mut self, iterator: &SubscriptionIterator, task: &Task) {
        self.add(
            &iterator.pointer,
            vec![iterator.item.clone(), iterator.at.clone()],
        );
        self.define(
            &[iterator.item.as_str(), iterator.at.as_str()],
            format!("the `foreach` of task `{}`", task.name),
        );
        if let Some(output) = &iterator.output {
            self.output(output);
        }
        if let Some(export) = &iterator.export {
            self.export(export);
        }
    }

    fn task(&mut self, task: &Task) {
        let common = &task.common;
        self.always_opt(common.if_.as_ref());
        if let Some(input) = &common.input {
            self.input(input);
        }
        if let Some(output) = &common.output {
            self.output(output);
        }
        if let Some(export) = &common.export {
            self.export(export);
        }
        self.skipped
            .insert(pointer::join(&task.pointer, "metadata"));
        match &task.kind {
            TaskKind::For(each) => {
                self.always(&each.in_);
                let names = vec![each.each.clone(), each.at.clone()];
                // `while` is checked before each iteration, with the item in hand.
                if let Some(condition) = &each.while_ {
                    self.always(condition);
                    self.add(&condition.pointer, names.clone());
                }
                self.add(&each.do_.pointer, names);
                self.define(
                    &[each.each.as_str(), each.at.as_str()],
                    format!("the `do` of `for` task `{}`", task.name),
                );
            }
            TaskKind::Switch(switch) => {
                for case in &switch.cases {
                    self.always_opt(case.when.as_ref());
                }
            }
            TaskKind::Try(attempt) => {
                let catch = &attempt.catch;
                self.always_opt(catch.when.as_ref());
                self.always_opt(catch.except_when.as_ref());
                if let Some(RetryRef::Inline(retry)) = &catch.retry {
                    self.retry(retry);
                }
                let variable = catch.variable();
                self.add(&catch.pointer, vec![variable.to_string()]);
                self.define(&[variable], format!("the `catch` of task `{}`", task.name));
            }
            TaskKind::Listen(listen) => {
                self.strategy(&listen.to);
                if let Some(iterator) = &listen.foreach {
                    self.iterator(iterator, task);
                }
            }
            TaskKind::Call(CallTask::AsyncApi(call)) => {
                if let Some(subscription) = &call.subscription {
                    self.always_opt(subscription.filter.as_ref());
                    match &subscription.consume.limit {
                        ConsumeLimit::While(e) | ConsumeLimit::Until(e) => self.always(e),
                        ConsumeLimit::Amount(_) => {}
                    }
                    if let Some(iterator) = &subscription.foreach {
                        self.iterator(iterator, task);
                    }
                }
            }
            TaskKind::Run(run) => {
                // Script code is the script's own language, not jq, whatever it contains.
                if let Process::Script(script) = &run.process
                    && let ScriptSource::Inline(_) = script.source
                {
                    let script = pointer::join(&pointer::join(&task.pointer, "run"), "script");
                    self.skipped.insert(pointer::join(&script, "code"));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::test_support::doc;

    fn scopes(body: &str) -> Scopes {
        let text = doc(body);
        let source = crate::source::Source::new("t.yaml", text.as_str());
        let loaded = crate::yaml::load(&source).expect("loads");
        let document = crate::parse::parse(&loaded.value).expect("parses");
        Scopes::of(&document)
    }

    #[test]
    fn for_catch_and_foreach_add_their_variables_where_they_run() {
        let scopes = scopes(concat!(
            "do:\n",
            "  - loop:\n      for: {each: pet, in: .pets}\n      while: $pet != null\n      do:\n        - a: {set: {x: 1}}\n",
            "  - guard:\n      try:\n        - b: {set: {x: 1}}\n      catch:\n        as: oops\n        when: $oops.status == 1\n",
            "  - hear:\n      listen:\n        to:\n          one:\n            with: {type: t}\n      foreach:\n        item: ev\n        do:\n          - c: {set: {x: 1}}\n",
        ));
        let added = |at: &str| scopes.added.get(at).cloned().unwrap_or_default();
        assert_eq!(added("/do/0/loop/do"), ["pet", "index"]);
        assert_eq!(added("/do/0/loop/while"), ["pet", "index"]);
        assert_eq!(added("/do/1/guard/catch"), ["oops"]);
        assert_eq!(added("/do/2/hear/foreach"), ["ev", "index"]);
        assert_eq!(added("/use/retries"), ["error", "oops"]);
        for always in [
            "/do/0/loop/for/in",
            "/do/0/loop/while",
            "/do/1/guard/catch/when",
        ] {
            assert!(scopes.always.contains(always), "{always}");
        }
        assert!(scopes.skipped.contains("/do/0/loop/metadata"));
        assert_eq!(
            scopes.defined_by.get("oops").map(String::as_str),
            Some("the `catch` of task `guard`")
        );
    }

    #[test]
    fn schemas_and_script_code_are_skipped() {
        let scopes = scopes(concat!(
            "input:\n  schema:\n    document: {type: object}\n",
            "do:\n  - s:\n      run:\n        script:\n          language: js\n          code: x\n",
        ));
        assert!(scopes.skipped.contains("/input/schema"));
        assert!(scopes.skipped.contains("/do/0/s/run/script/code"));
        assert!(scopes.skipped.contains("/document"));
    }
}
