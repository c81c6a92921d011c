//! The redacting event sink: wraps the run's sink so that every consumer (live tree, plain
//! lines, `--events`, JUnit, the journal) receives events whose payloads have secrets masked.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::redact::Redactor;
use crate::runtime::event::{EventKind, EventSink, LifecycleEvent};

/// Masks secrets in each event before passing it on.
pub struct RedactingSink {
    inner: Arc<dyn EventSink>,
    redactor: Arc<Redactor>,
}

impl RedactingSink {
    /// `events` behind a redacting sink; `events` itself when there is nothing to redact or
    /// nobody listens, so a run without secrets pays nothing.
    pub fn wrap(events: Arc<dyn EventSink>, redactor: &Arc<Redactor>) -> Arc<dyn EventSink> {
        if !redactor.is_active() || !events.enabled() {
            return events;
        }
        Arc::new(RedactingSink {
            inner: events,
            redactor: Arc::clone(redactor),
        })
    }
}

impl EventSink for RedactingSink {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    fn emit(&self, event: LifecycleEvent) {
        self.inner.emit(redact_event(&self.redactor, event));
    }

    fn flushed(&self) -> Option<BoxFuture<'static, ()>> {
        self.inner.flushed()
    }
}

/// The event with its payload masked. Every kind is listed so that a new kind carrying values
/// cannot be added without deciding here what to mask.
pub(crate) fn redact_event(redactor: &Redactor, mut event: LifecycleEvent) -> LifecycleEvent {
    match &mut event.kind {
        EventKind::WorkflowCompleted { output } => {
            if let Some(masked) = redactor.val(output) {
                *output = masked;
            }
        }
        // Marked, so a resumed run does not replay the masked value as if it were the output.
        EventKind::TaskCompleted { output, masked, .. }
        | EventKind::ContextChanged {
            context: output,
            masked,
        }
        | EventKind::EventConsumed {
            event: output,
            masked,
            ..
        } => {
            if let Some(hidden) = redactor.val(output) {
                *output = hidden;
                *masked = true;
            }
        }
        EventKind::WorkflowFaulted { error }
        | EventKind::TaskFaulted { error }
        | EventKind::TaskRetried { error, .. } => redactor.error(error),
        EventKind::TaskOutput { line, .. } => redactor.string(line),
        EventKind::WorkflowStarted
        | EventKind::WorkflowCancelled
        | EventKind::TaskCreated
        | EventKind::TaskStarted
        | EventKind::TaskSkipped
        | EventKind::TaskCancelled
        | EventKind::TaskIterations { .. } => {}
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{from_json, to_json};
    use crate::problem::{ErrorKind, WorkflowError};
    use crate::runtime::event::{NoEvents, RunIdentity};
    use serde_json::json;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LifecycleEvent>>);

    impl EventSink for Collect {
        fn emit(&self, event: LifecycleEvent) {
            if let Ok(mut events) = self.0.lock() {
                events.push(event);
            }
        }
    }

    fn identity() -> Arc<RunIdentity> {
        Arc::new(RunIdentity {
            run_id: "r".into(),
            qualified_name: "f.ns:1.0.0".into(),
            namespace: "ns".into(),
            name: "f".into(),
            version: "1.0.0".into(),
        })
    }

    fn event(kind: EventKind) -> LifecycleEvent {
        LifecycleEvent::new(identity(), Some("/do/0/t".into()), kind)
    }

    #[test]
    fn payloads_are_masked_before_the_consumer_sees_them() {
        let redactor = Arc::new(Redactor::new(&[json!("t0ken-value")]));
        let collect = Arc::new(Collect::default());
        let sink = RedactingSink::wrap(collect.clone(), &redactor);
        let error = WorkflowError::new(ErrorKind::Runtime, "boom").with_detail("t0ken-value");
        sink.emit(event(EventKind::completed(from_json(
            &json!({"token": "t0ken-value"}),
        ))));
        sink.emit(event(EventKind::ContextChanged {
            context: from_json(&json!({"token": "t0ken-value"})),
            masked: false,
        }));
        sink.emit(event(EventKind::completed(from_json(&json!("plain")))));
        sink.emit(event(EventKind::TaskFaulted {
            error: error.clone(),
        }));
        sink.emit(event(EventKind::TaskRetried {
            attempt: 1,
            delay: std::time::Duration::ZERO,
            error,
        }));
        sink.emit(event(EventKind::TaskOutput {
            stream: crate::host::effects::process::OutputStream::Stdout,
            line: "using t0ken-value".into(),
        }));
        let events = collect.0.lock().map(|e| e.clone()).unwrap_or_default();
        let shown: Vec<String> = events
            .iter()
            .map(|event| match &event.kind {
                EventKind::TaskCompleted { output, masked, .. }
                | EventKind::ContextChanged {
                    context: output,
                    masked,
                } => format!("{} {masked}", to_json(output)),
                EventKind::TaskFaulted { error } | EventKind::TaskRetried { error, .. } => {
                    error.detail.clone().unwrap_or_default()
                }
                EventKind::TaskOutput { line, .. } => line.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            shown,
            [
                r#"{"token":"***"} true"#,
                r#"{"token":"***"} true"#,
                r#""plain" false"#,
                "***",
                "***",
                "using ***"
            ]
        );
    }

    #[test]
    fn nothing_is_wrapped_without_secrets_or_listeners() {
        let inactive = Arc::new(Redactor::new(&[json!("")]));
        let collect: Arc<dyn EventSink> = Arc::new(Collect::default());
        assert!(Arc::ptr_eq(
            &RedactingSink::wrap(collect.clone(), &inactive),
            &collect
        ));
        let active = Arc::new(Redactor::new(&[json!("abcd")]));
        let silent: Arc<dyn EventSink> = Arc::new(NoEvents);
        let wrapped = RedactingSink::wrap(silent.clone(), &active);
        assert!(Arc::ptr_eq(&wrapped, &silent));
        assert!(!wrapped.enabled());
        assert!(!Arc::ptr_eq(
            &RedactingSink::wrap(collect.clone(), &active),
            &collect
        ));
    }
}
