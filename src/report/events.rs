//! `--events PATH`: every lifecycle event as one CloudEvents JSON object per line. The engine
//! only hands events to a channel; a dedicated thread converts and writes them through a
//! buffered writer (flushed whenever the channel runs dry), so a run does not wait on the disk.
//! The channel is bounded: when a tight loop produces events faster than they can be written,
//! the engine waits for the writer instead of queueing them all in memory.

use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

use crate::runtime::event::{EventSink, LifecycleEvent};

/// Events waiting for the writer at most: enough to absorb bursts, small enough that a loop of
/// a million tasks cannot hold them all in memory.
const QUEUED_EVENTS: usize = 4096;

/// A sink writing JSON lines to any writer, from its own thread.
pub struct JsonLinesSink {
    sender: Mutex<Option<SyncSender<LifecycleEvent>>>,
    writer: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl JsonLinesSink {
    /// Starts the writer thread over `out`.
    pub fn new(out: Box<dyn Write + Send>) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel::<LifecycleEvent>(QUEUED_EVENTS);
        let writer = std::thread::Builder::new()
            .name("events-writer".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(out);
                // Write whatever has arrived, then flush while the engine is quiet, so a reader
                // following the file sees events promptly without a flush per event.
                while let Ok(event) = receiver.recv() {
                    write_line(&mut out, &event)?;
                    while let Ok(event) = receiver.try_recv() {
                        write_line(&mut out, &event)?;
                    }
                    out.flush()?;
                }
                out.flush()
            })?;
        Ok(JsonLinesSink {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Creates (truncates) the file at `path` and writes the events there.
    /// A FIFO (`mkfifo`, `<(...)`) is opened without waiting: with no process reading it,
    /// that is an error at once instead of a run that hangs before it starts.
    pub fn create(path: &std::path::Path) -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_fifo()) {
                return JsonLinesSink::new(Box::new(fifo::open(path)?));
            }
        }
        let file = std::fs::File::create(path)?;
        JsonLinesSink::new(Box::new(file))
    }

    /// Stops accepting events, writes out everything received and flushes. Call once, after
    /// the run; later events are dropped.
    pub fn finish(&self) -> std::io::Result<()> {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut writer| writer.take());
        match handle {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the events writer panicked"))),
            None => Ok(()),
        }
    }
}

/// Writing to a FIFO without ever blocking for long: a reader that stops reading makes the
/// events writer fail after [`fifo::STALL`] instead of holding the run up forever (the engine
/// waits for the writer once its queue is full).
#[cfg(unix)]
mod fifo {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::{Duration, Instant};

    /// How long a reader may take no data before the events file is given up.
    pub(super) const STALL: Duration = Duration::from_secs(30);

    /// Opens the FIFO at `path` for writing, non-blocking: `ENXIO` (no reader) becomes a
    /// clear error.
    pub(super) fn open(path: &std::path::Path) -> std::io::Result<Fifo> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|error| {
                if error.raw_os_error() == Some(libc::ENXIO) {
                    std::io::Error::other("it is a FIFO and no process is reading it")
                } else {
                    error
                }
            })?;
        Ok(Fifo(file))
    }

    pub(super) struct Fifo(std::fs::File);

    impl Write for Fifo {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let started = Instant::now();
            loop {
                match self.0.write(buf) {
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        if started.elapsed() > STALL {
                            return Err(std::io::Error::other(format!(
                                "the FIFO's reader took nothing for {} s",
                                STALL.as_secs()
                            )));
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    other => return other,
                }
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.0.flush()
        }
    }
}

fn write_line(out: &mut impl Write, event: &LifecycleEvent) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &event.to_cloudevent())?;
    out.write_all(b"\n")
}

impl EventSink for JsonLinesSink {
    fn emit(&self, event: LifecycleEvent) {
        // Loop totals and process output feed live views only; the file is the CloudEvents
        // stream and stays exactly that.
        if !event.is_published() {
            return;
        }
        if let Ok(sender) = self.sender.lock()
            && let Some(sender) = sender.as_ref()
        {
            // A closed channel means the writer failed; `finish` reports why.
            let _ = sender.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::event::{EventKind, RunIdentity};
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_one_cloudevent_per_line_in_order() {
        let buffer = Shared::default();
        let sink = JsonLinesSink::new(Box::new(buffer.clone())).unwrap_or_else(|e| panic!("{e}"));
        let run = Arc::new(RunIdentity {
            run_id: "r".into(),
            qualified_name: "w.ns:1".into(),
            namespace: "ns".into(),
            name: "w".into(),
            version: "1".into(),
        });
        sink.emit(LifecycleEvent::new(
            run.clone(),
            None,
            EventKind::WorkflowStarted,
        ));
        sink.emit(LifecycleEvent::new(
            run.clone(),
            Some("/do/0/a".into()),
            EventKind::TaskStarted,
        ));
        // Live-view kinds never reach the file.
        sink.emit(LifecycleEvent::new(
            run.clone(),
            Some("/do/0/a".into()),
            EventKind::TaskIterations { total: 3 },
        ));
        sink.emit(LifecycleEvent::new(
            run,
            Some("/do/0/a".into()),
            EventKind::TaskOutput {
                stream: crate::host::effects::process::OutputStream::Stdout,
                line: "hello".into(),
            },
        ));
        sink.finish().unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default())
            .unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0]["type"],
            "io.serverlessworkflow.workflow.started.v1"
        );
        assert_eq!(lines[1]["data"]["task"], "/do/0/a");
        // Finishing twice is harmless.
        assert!(sink.finish().is_ok());
    }
}
