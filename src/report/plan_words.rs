//! The words of the dry-run plan: what each task does in one line, known statically. Expressions
//! and templates are shown as written (whitespace folded to fit one line), never evaluated.

use crate::document::{
    Arguments, BackoffKind, CallTask, Catch, ConsumptionStrategy, Document, Duration, ErrorRef,
    Expression, FlowDirective, McpTransportKind, Process, ProcessReturn, RetryPolicy, RetryRef,
    ScriptSource, SwitchCase, Task, TaskKind, TimeoutRef, Transform, ValueTemplate,
};

/// The detail of a task line, after its kind.
pub(crate) fn detail(task: &Task, document: &Document) -> String {
    match &task.kind {
        TaskKind::Call(call) => call_detail(call, document),
        TaskKind::Do(do_) => count(do_.do_.len(), "task", "tasks"),
        TaskKind::Fork(fork) => {
            let branches = count(fork.branches.len(), "branch", "branches");
            if fork.compete {
                format!("{branches}, compete: the first to finish wins")
            } else {
                format!("{branches} in parallel")
            }
        }
        TaskKind::For(for_) => {
            let mut text = format!("for each {} in {}", for_.each, expression(&for_.in_));
            if for_.at != "index" {
                text.push_str(&format!(" at {}", for_.at));
            }
            if let Some(while_) = &for_.while_ {
                text.push_str(&format!(" while {}", expression(while_)));
            }
            text
        }
        TaskKind::Emit(emit) => {
            let mut text = match &emit.event.type_ {
                Some(type_) => format!("emit {}", one_line(type_.text())),
                None => "emit an event".to_string(),
            };
            if let Some(source) = &emit.event.source {
                text.push_str(&format!(" from {}", one_line(source.text())));
            }
            text
        }
        TaskKind::Listen(listen) => format!("listen {}", strategy(&listen.to)),
        TaskKind::Raise(raise) => raise_detail(&raise.error, document),
        TaskKind::Run(run) => {
            let mut text = process(&run.process);
            if !run.await_ {
                text.push_str(" (not awaited)");
            }
            let returns = match run.return_ {
                ProcessReturn::Stdout => None,
                ProcessReturn::Stderr => Some("stderr"),
                ProcessReturn::Code => Some("the exit code"),
                ProcessReturn::All => Some("code, stdout and stderr"),
                ProcessReturn::None => Some("null"),
            };
            if let Some(returns) = returns {
                text.push_str(&format!(", returns {returns}"));
            }
            text
        }
        TaskKind::Set(set) => match &set.value.value {
            serde_json::Value::Object(map) if map.is_empty() => "set {}".to_string(),
            serde_json::Value::Object(map) => {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                format!("keys {}", keys.join(", "))
            }
            other => template(&ValueTemplate::new(other.clone(), "")),
        },
        TaskKind::Switch(switch) => switch.cases.iter().map(case).collect::<Vec<_>>().join("; "),
        TaskKind::Try(try_) => catch(&try_.catch, document),
        TaskKind::Wait(wait) => duration(&wait.duration),
    }
}

fn call_detail(call: &CallTask, document: &Document) -> String {
    match call {
        CallTask::Http(http) => {
            let mut text = format!(
                "http {} {}",
                http.method.to_uppercase(),
                one_line(http.endpoint.uri.text())
            );
            if let Some(query) = &http.query {
                text.push_str(&format!(" query {}", template(query)));
            }
            if http.body.is_some() {
                text.push_str(" with a body");
            }
            text
        }
        CallTask::OpenApi(openapi) => format!(
            "openapi {} from {}",
            openapi.operation_id,
            one_line(openapi.document.endpoint.uri.text())
        ),
        CallTask::Grpc(grpc) => {
            let port = grpc
                .service
                .port
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!(
                "grpc {}.{} at {}{port}",
                grpc.service.name, grpc.method, grpc.service.host
            )
        }
        CallTask::AsyncApi(asyncapi) => {
            let verb = if asyncapi.subscription.is_some() {
                "subscribe to"
            } else {
                "publish to"
            };
            let target = asyncapi
                .operation
                .as_deref()
                .or(asyncapi.channel.as_deref())
                .unwrap_or("?");
            format!(
                "asyncapi {verb} {target} from {}",
                one_line(asyncapi.document.endpoint.uri.text())
            )
        }
        CallTask::A2a(a2a) => match &a2a.server {
            Some(server) => format!("a2a {} at {}", a2a.method, one_line(server.uri.text())),
            None => format!("a2a {}", a2a.method),
        },
        CallTask::Mcp(mcp) => match &mcp.transport.kind {
            McpTransportKind::Http { endpoint, .. } => {
                format!("mcp {} via {}", mcp.method, one_line(endpoint.uri.text()))
            }
            McpTransportKind::Stdio {
                command, arguments, ..
            } => {
                let argv = std::iter::once(command.as_str())
                    .chain(arguments.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("mcp {} via stdio `{}`", mcp.method, one_line(&argv))
            }
        },
        CallTask::Function(function) => {
            let name = &function.function.name;
            // A function of `use.functions` is a task itself: say what it calls.
            match document.use_.function(name) {
                Some(task) => format!("function {name} → {}", detail(task, document)),
                None => format!("function {name}"),
            }
        }
    }
}

fn process(process: &Process) -> String {
    match process {
        Process::Shell(shell) => {
            let mut text = format!("shell: {}", first_line(shell.command.text()));
            text.push_str(&arguments(shell.arguments.as_ref()));
            if shell.stdin.is_some() {
                text.push_str(", stdin given");
            }
            text
        }
        Process::Script(script) => {
            let mut text = match &script.source {
                ScriptSource::Inline(code) => format!(
                    "script {} ({})",
                    script.language,
                    count(code.lines().count(), "line", "lines")
                ),
                ScriptSource::External(resource) => format!(
                    "script {} from {}",
                    script.language,
                    one_line(resource.endpoint.uri.text())
                ),
            };
            text.push_str(&arguments(script.arguments.as_ref()));
            text
        }
        Process::Container(container) => {
            let mut text = format!("container {}", container.image);
            if let Some(command) = &container.command {
                text.push_str(&format!(": {}", first_line(command.text())));
            }
            text.push_str(&arguments(container.arguments.as_ref()));
            text
        }
        Process::Workflow(flow) => {
            format!("workflow {}/{} {}", flow.namespace, flow.name, flow.version)
        }
    }
}

/// `, argv [a, ${ .b }]`: each item is one argv entry, shown as written.
fn arguments(arguments: Option<&Arguments>) -> String {
    match arguments {
        None => String::new(),
        Some(Arguments::List(items)) => {
            let items: Vec<String> = items.iter().map(|i| one_line(i.text())).collect();
            format!(", argv [{}]", items.join(", "))
        }
        Some(Arguments::Map(map)) => format!(", arguments {}", template(map)),
    }
}

fn raise_detail(error: &ErrorRef, document: &Document) -> String {
    let (prefix, def) = match error {
        ErrorRef::Inline(def) => (String::new(), Some(def)),
        ErrorRef::Named(reference) => (
            format!("{} ", reference.name),
            document
                .use_
                .error(&reference.name)
                .map(|named| &named.value),
        ),
    };
    match def {
        Some(def) => {
            let mut text = format!("{prefix}{} {}", one_line(def.type_.text()), def.status);
            if let Some(title) = &def.title {
                text.push_str(&format!(" \"{}\"", one_line(title.text())));
            }
            text
        }
        None => prefix.trim_end().to_string(),
    }
}

fn case(case: &SwitchCase) -> String {
    let target = target(&case.then);
    match &case.when {
        Some(when) => format!("{} when {} → {target}", case.name, expression(when)),
        None if case.name == "default" => format!("default → {target}"),
        None => format!("{} (default) → {target}", case.name),
    }
}

/// Where a flow directive leads: a task name, `exit`, `end` or `continue`.
pub(crate) fn target(directive: &FlowDirective) -> String {
    match directive {
        FlowDirective::Continue => "continue".into(),
        FlowDirective::Exit => "exit".into(),
        FlowDirective::End => "end".into(),
        FlowDirective::Goto(reference) => reference.name.clone(),
    }
}

/// The catch of a `try`: which errors, under which conditions, and the retry policy in words.
fn catch(catch: &Catch, document: &Document) -> String {
    let mut filter = Vec::new();
    if let Some(errors) = &catch.errors {
        if let Some(type_) = &errors.type_ {
            filter.push(format!("type {type_}"));
        }
        if let Some(status) = errors.status {
            filter.push(format!("status {status}"));
        }
        if let Some(title) = &errors.title {
            filter.push(format!("title \"{title}\""));
        }
        if let Some(details) = &errors.details {
            filter.push(format!("details \"{details}\""));
        }
        if let Some(instance) = &errors.instance {
            filter.push(format!("instance {instance}"));
        }
    }
    let mut text = if filter.is_empty() {
        "catch any error".to_string()
    } else {
        format!("catch errors with {}", filter.join(", "))
    };
    if let Some(name) = &catch.as_ {
        text.push_str(&format!(" as ${name}"));
    }
    if let Some(when) = &catch.when {
        text.push_str(&format!(" when {}", expression(when)));
    }
    if let Some(except) = &catch.except_when {
        text.push_str(&format!(" unless {}", expression(except)));
    }
    match &catch.retry {
        None => {}
        Some(RetryRef::Inline(policy)) => text.push_str(&format!(" · {}", retry(policy))),
        Some(RetryRef::Named(reference)) => match document.use_.retry(&reference.name) {
            Some(named) => {
                text.push_str(&format!(" · {} ({})", retry(&named.value), reference.name))
            }
            None => text.push_str(&format!(" · retry {}", reference.name)),
        },
    }
    text
}

/// `retry up to 3 times, exponential from 1s`, and whatever bounds the policy adds.
pub(crate) fn retry(policy: &RetryPolicy) -> String {
    let limit = policy.limit.as_ref();
    let mut text = match limit.and_then(|l| l.attempt_count) {
        Some(1) => "retry once".to_string(),
        Some(n) => format!("retry up to {n} times"),
        None => "retry without a count limit".to_string(),
    };
    let kind = policy.backoff.as_ref().map(|b| b.kind);
    match (kind, &policy.delay) {
        (Some(BackoffKind::Exponential), Some(delay)) => {
            text.push_str(&format!(", exponential from {}", duration(delay)));
        }
        (Some(BackoffKind::Linear), Some(delay)) => {
            text.push_str(&format!(", linear from {}", duration(delay)));
        }
        (Some(BackoffKind::Constant) | None, Some(delay)) => {
            text.push_str(&format!(", every {}", duration(delay)));
        }
        (Some(BackoffKind::Exponential), None) => text.push_str(", exponential"),
        (Some(BackoffKind::Linear), None) => text.push_str(", linear"),
        (Some(BackoffKind::Constant) | None, None) => text.push_str(", at once"),
    }
    if let Some(jitter) = &policy.jitter {
        text.push_str(&format!(
            ", jitter {} to {}",
            duration(&jitter.from),
            duration(&jitter.to)
        ));
    }
    if let Some(each) = limit.and_then(|l| l.attempt_duration.as_ref()) {
        text.push_str(&format!(", each attempt at most {}", duration(each)));
    }
    if let Some(total) = limit.and_then(|l| l.duration.as_ref()) {
        text.push_str(&format!(", for at most {} in all", duration(total)));
    }
    if let Some(when) = &policy.when {
        text.push_str(&format!(", when {}", expression(when)));
    }
    if let Some(except) = &policy.except_when {
        text.push_str(&format!(", unless {}", expression(except)));
    }
    text
}

/// `timeout 30s`, resolving a named `use.timeouts` entry.
pub(crate) fn timeout(timeout: &TimeoutRef, document: &Document) -> String {
    match timeout {
        TimeoutRef::Inline(inline) => format!("timeout {}", duration(&inline.after)),
        TimeoutRef::Named(reference) => match document.use_.timeout(&reference.name) {
            Some(named) => format!(
                "timeout {} ({})",
                duration(&named.value.after),
                reference.name
            ),
            None => format!("timeout {}", reference.name),
        },
    }
}

/// What happens around the workflow's tasks: input checks and transforms, output, timeout,
/// schedule.
pub(crate) fn workflow_notes(document: &Document) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(input) = &document.input {
        if let Some(schema) = &input.schema {
            notes.push(format!("input checked against a {} schema", schema.format));
        }
        if let Some(from) = &input.from {
            notes.push(format!("input from {}", transform(from)));
        }
    }
    if let Some(timeout_ref) = &document.timeout {
        notes.push(timeout(timeout_ref, document));
    }
    if let Some(output) = &document.output {
        if let Some(as_) = &output.as_ {
            notes.push(format!("output as {}", transform(as_)));
        }
        if let Some(schema) = &output.schema {
            notes.push(format!("output checked against a {} schema", schema.format));
        }
    }
    if let Some(schedule) = &document.schedule {
        if let Some(every) = &schedule.every {
            notes.push(format!("scheduled every {}", duration(every)));
        }
        if let Some(cron) = &schedule.cron {
            notes.push(format!("scheduled by cron `{cron}`"));
        }
        if let Some(after) = &schedule.after {
            notes.push(format!(
                "scheduled again {} after each run",
                duration(after)
            ));
        }
        if let Some(on) = &schedule.on {
            notes.push(format!("started on events: {}", strategy(on)));
        }
    }
    notes
}

fn transform(transform: &Transform) -> String {
    match transform {
        Transform::Expression(expression) => self::expression(expression),
        Transform::Template(value) => template(value),
    }
}

fn strategy(consumed: &ConsumptionStrategy) -> String {
    match consumed {
        ConsumptionStrategy::All { filters, .. } => {
            format!("to all of {}", count(filters.len(), "event", "events"))
        }
        ConsumptionStrategy::Any { filters, .. } if filters.is_empty() => "to any event".into(),
        ConsumptionStrategy::Any { filters, .. } => {
            format!("to any of {}", count(filters.len(), "event", "events"))
        }
        ConsumptionStrategy::One { .. } => "to one event".into(),
    }
}

/// A duration as people write it (`1.5s`, `1m 30s`, `250ms`), or the expression as written.
pub(crate) fn duration(duration: &Duration) -> String {
    match (duration, duration.to_std()) {
        (_, Ok(fixed)) => fixed_duration(fixed),
        (Duration::Expression(expression), Err(_)) => self::expression(expression),
        (Duration::Iso8601 { text, .. }, Err(_)) => text.clone(),
        (Duration::Inline { .. }, Err(error)) => error.to_string(),
    }
}

fn fixed_duration(duration: std::time::Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let secs = duration.as_secs();
    let mut parts = Vec::new();
    let units = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3_600, "h"),
        (secs % 3_600 / 60, "m"),
    ];
    for (n, unit) in units {
        if n > 0 {
            parts.push(format!("{n}{unit}"));
        }
    }
    let rest_secs = secs % 60;
    let rest_millis = duration.subsec_millis();
    match (rest_secs, rest_millis) {
        (0, 0) => {}
        (s, 0) => parts.push(format!("{s}s")),
        (s, ms) => {
            let fraction = format!("{ms:03}");
            parts.push(format!("{s}.{}s", fraction.trim_end_matches('0')));
        }
    }
    parts.join(" ")
}

/// An expression as written, on one line.
pub(crate) fn expression(expression: &Expression) -> String {
    one_line(&expression.text)
}

/// A template as written: a string as is, anything else as compact JSON.
fn template(template: &ValueTemplate) -> String {
    match &template.value {
        serde_json::Value::String(text) => one_line(text),
        other => other.to_string(),
    }
}

/// Folds line breaks and runs of blanks into single spaces, so a line stays a line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line of a command, with a count of the lines left out.
fn first_line(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    match lines.as_slice() {
        [] => String::new(),
        [only] => only.trim().to_string(),
        [first, rest @ ..] => format!("{} (+{} lines)", first.trim(), rest.len()),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    #[test]
    fn fixed_durations_read_like_people_write_them() {
        assert_eq!(fixed_duration(Std::from_millis(250)), "250ms");
        assert_eq!(fixed_duration(Std::from_millis(1500)), "1.5s");
        assert_eq!(fixed_duration(Std::from_secs(90)), "1m 30s");
        assert_eq!(fixed_duration(Std::from_secs(3600)), "1h");
        assert_eq!(
            fixed_duration(Std::from_secs(86_400 + 7_200 + 5)),
            "1d 2h 5s"
        );
        assert_eq!(fixed_duration(Std::from_millis(60_010)), "1m 0.01s");
    }

    #[test]
    fn text_is_folded_to_one_line() {
        assert_eq!(one_line("${ .a\n   | .b }"), "${ .a | .b }");
        assert_eq!(first_line("echo a\necho b\necho c\n"), "echo a (+2 lines)");
        assert_eq!(first_line("  ls -l  "), "ls -l");
        assert_eq!(count(1, "task", "tasks"), "1 task");
        assert_eq!(count(0, "task", "tasks"), "0 tasks");
    }

    #[test]
    fn retry_policies_in_words() {
        let policy = RetryPolicy {
            when: None,
            except_when: Some(Expression::new("${ .fatal }", "/w")),
            delay: Some(Duration::Iso8601 {
                text: "PT2S".into(),
                pointer: String::new(),
            }),
            backoff: None,
            limit: None,
            jitter: None,
            pointer: String::new(),
        };
        assert_eq!(
            retry(&policy),
            "retry without a count limit, every 2s, unless ${ .fatal }"
        );
    }
}
