//! `workflow events send`: publishes one CloudEvent on the given brokers by hand, waiting for
//! their acknowledgement, e.g. to drive a workflow that is listening; with `--temporal`,
//! signals it to runs on Temporal instead.

use std::io::{Read, Write};

use serde_json::{Map, Value, json};

use crate::cli::{EventsAction, EventsArgs, EventsSendArgs};
use crate::exit_code::ExitCode;

pub fn run(args: &EventsArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    match &args.action {
        EventsAction::Send(send) if send.temporal.is_some() => match build(send) {
            Ok(event) => {
                let code = signal(send, &event, stderr);
                if code == ExitCode::Success {
                    let _ = writeln!(stdout, "{event}");
                }
                code
            }
            Err((message, code)) => {
                let _ = writeln!(stderr, "error: {message}");
                code
            }
        },
        EventsAction::Send(send) => match build(send).and_then(|event| publish(send, event)) {
            Ok(event) => {
                let _ = writeln!(stdout, "{event}");
                ExitCode::Success
            }
            Err((message, code)) => {
                let _ = writeln!(stderr, "error: {message}");
                code
            }
        },
    }
}

type Failure = (String, ExitCode);

fn usage(message: impl Into<String>) -> Failure {
    (message.into(), ExitCode::Usage)
}

/// The event from `--file` and the flags; `specversion`, `id`, `source` and `time` are filled.
fn build(args: &EventsSendArgs) -> Result<Value, Failure> {
    let mut event = match &args.file {
        None => Map::new(),
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|error| usage(format!("cannot read the event from stdin: {error}")))?;
                text
            } else {
                std::fs::read_to_string(path).map_err(|error| {
                    usage(format!("cannot read the event {}: {error}", path.display()))
                })?
            };
            match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(usage("the event file must hold one JSON object")),
                Err(error) => return Err(usage(format!("the event file is not JSON: {error}"))),
            }
        }
    };
    let mut set = |name: &str, value: &Option<String>| {
        if let Some(value) = value {
            event.insert(name.to_owned(), Value::String(value.clone()));
        }
    };
    set("type", &args.type_);
    set("source", &args.source);
    set("id", &args.id);
    set("subject", &args.subject);
    if let Some(data) = &args.data {
        let data = serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.clone()));
        event.insert("data".into(), data);
        event
            .entry("datacontenttype")
            .or_insert_with(|| json!("application/json"));
    }
    for extension in &args.extensions {
        let Some((name, value)) = extension.split_once('=') else {
            return Err(usage(format!("`--ext {extension}`: expected NAME=VALUE")));
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !valid {
            return Err(usage(format!(
                "`--ext {extension}`: extension names are lowercase letters and digits"
            )));
        }
        event.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    if !event.get("type").is_some_and(Value::is_string) {
        return Err(usage("the event needs a `type` (--type TYPE)"));
    }
    event.entry("specversion").or_insert_with(|| json!("1.0"));
    event
        .entry("id")
        .or_insert_with(|| json!(uuid::Uuid::now_v7().to_string()));
    event
        .entry("source")
        .or_insert_with(|| json!("/workflow/cli"));
    event.entry("time").or_insert_with(|| {
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    });
    Ok(Value::Object(event))
}

fn publish(args: &EventsSendArgs, event: Value) -> Result<Value, Failure> {
    let bus = crate::exec::broker::bus_for(&args.brokers).map_err(|e| usage(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            (
                format!("cannot start the async runtime: {error}"),
                ExitCode::Faulted,
            )
        })?;
    runtime
        .block_on(bus.publish(event.clone()))
        .map_err(|error| {
            let title = error.title.clone().unwrap_or_default();
            let detail = error.detail.clone().unwrap_or_default();
            (format!("{title}: {detail}"), ExitCode::Faulted)
        })?;
    Ok(event)
}

/// `--temporal`: the event signalled to runs on Temporal.
fn signal(args: &EventsSendArgs, event: &Value, stderr: &mut dyn Write) -> ExitCode {
    #[cfg(feature = "temporal")]
    {
        let endpoint = crate::temporal::Endpoint {
            address: args.temporal.clone().unwrap_or_default(),
            namespace: args.namespace.clone(),
            task_queue: String::new(),
        };
        crate::temporal::send_event(&endpoint, args.workflow_id.as_deref(), event, stderr)
    }
    #[cfg(not(feature = "temporal"))]
    {
        let _ = (args, event);
        let _ = writeln!(
            stderr,
            "error: this build of workflow was made without the `temporal` feature"
        );
        ExitCode::Usage
    }
}
