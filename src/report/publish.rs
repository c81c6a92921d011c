//! `--events URL` with a broker URL: the run's lifecycle CloudEvents (workflow and task started,
//! completed, faulted, retried, ...) published on a broker, in order, so an event-sourced record
//! of every run lives outside the runner. Secrets are already masked by the sink in front.

use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::exec::broker::{BrokerError, bus_for};
use crate::runtime::event::{EventSink, LifecycleEvent};

/// Publishes each published lifecycle event from a thread of its own, one after the other,
/// waiting for each acknowledgement; the engine never waits for it.
pub struct LifecycleSink {
    sender: Mutex<Option<mpsc::Sender<serde_json::Value>>>,
    thread: Mutex<Option<JoinHandle<Result<(), PublishError>>>>,
}

/// Why some lifecycle events were not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{failed} lifecycle event(s) were not published (first: {first})")]
    Unpublished { failed: usize, first: String },
    #[error("the events publisher stopped unexpectedly")]
    Stopped,
}

/// Whether `--events` names a broker rather than a file.
pub fn is_broker_url(target: &str) -> bool {
    [
        "nats://",
        "tls://",
        "http://",
        "https://",
        "mqtt://",
        "mqtts://",
        "mqtt5://",
        "mqtts5://",
        "amqp://",
        "amqps://",
        "kafka://",
    ]
    .iter()
    .any(|scheme| target.to_ascii_lowercase().starts_with(scheme))
}

impl LifecycleSink {
    pub fn start(url: &str) -> Result<LifecycleSink, BrokerError> {
        let bus = bus_for(&[url.to_owned()])?;
        let (sender, receiver) = mpsc::channel::<serde_json::Value>();
        let thread = std::thread::Builder::new()
            .name("events-publisher".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(PublishError::Runtime)?;
                let mut failed = 0usize;
                let mut first = None;
                while let Ok(event) = receiver.recv() {
                    if let Err(error) = runtime.block_on(bus.publish(event)) {
                        failed += 1;
                        first.get_or_insert_with(|| {
                            let title = error.title.unwrap_or_default();
                            let detail = error.detail.unwrap_or_default();
                            format!("{title}: {detail}")
                        });
                    }
                }
                match first {
                    None => Ok(()),
                    Some(first) => Err(PublishError::Unpublished { failed, first }),
                }
            })
            .map_err(|_| BrokerError::Unknown {
                url: url.to_owned(),
            })?;
        Ok(LifecycleSink {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Publishes what is queued and stops; says how many events could not be published.
    pub fn finish(&self) -> Result<(), PublishError> {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        match thread.map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(PublishError::Stopped),
            None => Ok(()),
        }
    }
}

impl EventSink for LifecycleSink {
    fn emit(&self, event: LifecycleEvent) {
        if !event.is_published() {
            return;
        }
        if let Ok(sender) = self.sender.lock()
            && let Some(sender) = sender.as_ref()
        {
            let _ = sender.send(event.to_cloudevent());
        }
    }
}
