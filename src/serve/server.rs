//! `workflow serve`: the long-running host. It loads the workflows directory (and reloads it
//! when a file changes), resumes the runs a killed server left, starts the schedules' timers,
//! serves the API until SIGTERM or Ctrl-C, then gives running runs a grace period and leaves
//! the rest resumable.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;

use super::catalog::{Catalog, Fingerprint, Invalid, Loaded};
use super::dispatch::{Dispatcher, Settings};
use super::schedule::Scheduler;
use super::trigger::Triggers;
use crate::exec::broker::receiver::Receiver;
use crate::exit_code::ExitCode;
use crate::journal::{Journal, RunFilter, RunRecord, RunState};

/// A checked `serve` configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The directory of workflows to serve.
    pub workflows: PathBuf,
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    pub brokers: Vec<String>,
    /// The bearer token every API request must carry (required off loopback).
    pub token: Option<String>,
    pub max_concurrent_runs: usize,
    /// How long running runs may take to end after SIGTERM.
    pub grace: Duration,
    pub secrets: Vec<PathBuf>,
    pub max_steps: u64,
    /// How often the directory is looked at for changes.
    pub reload_interval: Duration,
    /// The zone `schedule.cron` expressions are read in.
    pub cron_timezone: chrono_tz::Tz,
}

/// What the handlers share.
pub(crate) struct Shared {
    catalog: RwLock<Arc<Catalog>>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) scheduler: Scheduler,
    pub(crate) token: Option<String>,
    receiver: Receiver,
    triggers: Triggers,
    stopping: AtomicBool,
}

/// What became of the events of one ingress request.
pub(crate) struct Ingested {
    /// The runs `schedule.on` started.
    pub runs: Vec<String>,
    /// The types of the events nothing took.
    pub untaken: Vec<String>,
}

impl Shared {
    pub(crate) fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(catalog) => Arc::clone(&catalog),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace_catalog(&self, catalog: Arc<Catalog>) {
        match self.catalog.write() {
            Ok(mut current) => *current = catalog,
            Err(poisoned) => *poisoned.into_inner() = catalog,
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The served workflow a recorded run is a run of (by its document's path).
    pub(crate) fn loaded_for(&self, record: &RunRecord) -> Option<Arc<Loaded>> {
        self.catalog()
            .by_path(Path::new(&record.document_path))
            .cloned()
    }

    /// Hands events to the listens waiting for them, then to the `schedule.on` triggers.
    pub(crate) fn ingest(&self, events: &[Value]) -> Result<Ingested, String> {
        let taken = self.receiver.offer(events)?;
        let mut ingested = Ingested {
            runs: Vec::new(),
            untaken: Vec::new(),
        };
        let catalog = self.catalog();
        for (event, taken) in events.iter().zip(taken) {
            let started = self.triggers.offer(&catalog, &self.dispatcher, event);
            if !taken && !started.wanted {
                let kind = crate::exec::broker::cloudevent::event_type(event).to_owned();
                ingested.untaken.push(kind);
            }
            ingested.runs.extend(started.runs);
        }
        Ok(ingested)
    }
}

/// Serves until SIGTERM or Ctrl-C; the exit code says whether it could start.
pub fn serve(config: ServeConfig, stderr: &mut dyn Write) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot start the async runtime: {error}");
            return ExitCode::Faulted;
        }
    };
    let code = runtime.block_on(run(config, stderr));
    // Runs still going after the grace period are left to the next start; the process-group
    // watcher ends their processes when this process exits.
    runtime.shutdown_background();
    crate::exec::process::kill_terminating();
    code
}

async fn run(config: ServeConfig, stderr: &mut dyn Write) -> ExitCode {
    let journal = match Journal::open(&config.state_dir) {
        Ok(journal) => journal,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            let _ = writeln!(stderr, "error: --listen {}: {error}", config.listen);
            return ExitCode::Usage;
        }
    };
    let local = listener.local_addr().unwrap_or(config.listen);
    let receiver = match Receiver::embedded(Some(config.state_dir.join("inbox.db")), local) {
        Ok(receiver) => receiver,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    let mut executors = crate::host::Executors::system();
    // The brokers (or, without one, the in-process bus between runs) also feed `schedule.on`.
    let bus = match crate::exec::broker::bus_for(&config.brokers) {
        Ok(bus) => bus,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            return ExitCode::Usage;
        }
    };
    executors.events = crate::exec::broker::with_receiver(Arc::clone(&bus), receiver.clone());
    // Sub-workflows are looked for next to the served documents.
    executors.loader = Arc::new(crate::loader::LocalLoader::new(vec![
        config.workflows.clone(),
    ]));
    // Every process a run starts carries this server's tag (see `exec::process`).
    crate::exec::process::tag_processes(&format!("serve-{}", uuid::Uuid::now_v7()));
    let provided = crate::secrets::provided_values();
    crate::secrets::install(Arc::new(crate::secrets::Redactor::new(provided.iter())));
    crate::expr::set_memory_cap(crate::expr::DEFAULT_MEMORY_CAP);
    let dispatcher = Arc::new(Dispatcher::new(
        journal,
        executors.clone(),
        Settings {
            secrets: config.secrets.clone(),
            max_steps: config.max_steps,
            max_concurrent: config.max_concurrent_runs,
        },
    ));
    let catalog = Arc::new(Catalog::load(&config.workflows, None));
    report_catalog(&catalog, None, stderr);
    let shared = Arc::new(Shared {
        catalog: RwLock::new(Arc::clone(&catalog)),
        dispatcher: Arc::clone(&dispatcher),
        scheduler: Scheduler::new(config.cron_timezone),
        token: config.token.clone(),
        receiver,
        triggers: Triggers::default(),
        stopping: AtomicBool::new(false),
    });
    resume_interrupted(&shared, stderr);
    shared.scheduler.sync(&catalog, &dispatcher);
    shared.triggers.sync(&catalog, &dispatcher, &bus);
    let _ = writeln!(
        stderr,
        "serving {} workflow{} from {} on http://{local}",
        catalog.workflows.len(),
        if catalog.workflows.len() == 1 {
            ""
        } else {
            "s"
        },
        config.workflows.display()
    );
    let _ = stderr.flush();
    let reloader = tokio::spawn(reload(
        Arc::clone(&shared),
        config.workflows.clone(),
        config.reload_interval,
        Arc::clone(&bus),
    ));
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let router = super::api::router(Arc::clone(&shared));
        let stop = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        })
    };
    signal().await;
    shared.stopping.store(true, Ordering::SeqCst);
    stop.cancel();
    reloader.abort();
    shared.scheduler.stop();
    shared.triggers.stop();
    let _ = writeln!(
        stderr,
        "stopping: {} run{} running, {}s of grace",
        dispatcher.running(),
        if dispatcher.running() == 1 { "" } else { "s" },
        config.grace.as_secs()
    );
    dispatcher.shut_down(config.grace).await;
    let left = dispatcher.running();
    if left > 0 {
        let _ = writeln!(
            stderr,
            "stopped with {left} run{} unfinished: the next start resumes {}",
            if left == 1 { "" } else { "s" },
            if left == 1 { "it" } else { "them" }
        );
    } else {
        let _ = writeln!(stderr, "stopped");
    }
    // Open connections (a live event stream) do not hold the exit up.
    server.abort();
    ExitCode::Success
}

/// SIGTERM or Ctrl-C.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let term = async move {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = term => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Invalid documents with their diagnostics, on stderr (new ones only, on a reload).
fn report_catalog(catalog: &Catalog, previous: Option<&Catalog>, stderr: &mut dyn Write) {
    for invalid in &catalog.invalid {
        let known = previous.is_some_and(|previous| {
            previous
                .invalid
                .iter()
                .any(|old| old.path == invalid.path && old.diagnostics == invalid.diagnostics)
        });
        if !known {
            write_invalid(invalid, stderr);
        }
    }
}

fn write_invalid(invalid: &Invalid, stderr: &mut dyn Write) {
    let _ = writeln!(
        stderr,
        "skipped {}: not a valid workflow",
        invalid.path.display()
    );
    for diagnostic in &invalid.diagnostics {
        let at = match (diagnostic.get("line"), diagnostic.get("column")) {
            (Some(Value::Number(line)), Some(Value::Number(column))) => {
                format!(" (line {line}, column {column})")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            stderr,
            "  {}{at}: {}",
            diagnostic["code"].as_str().unwrap_or("error"),
            diagnostic["message"].as_str().unwrap_or("")
        );
    }
}

/// Resumes every interrupted run (its process is gone) of a served workflow.
fn resume_interrupted(shared: &Arc<Shared>, stderr: &mut dyn Write) {
    let filter = RunFilter {
        status: Some(RunState::Interrupted),
        ..RunFilter::default()
    };
    let interrupted = shared
        .dispatcher
        .journal()
        .runs(&filter)
        .unwrap_or_default();
    // Oldest first: they were started in that order.
    for record in interrupted.iter().rev() {
        let Some(loaded) = shared.loaded_for(record) else {
            continue;
        };
        match shared.dispatcher.resume(&record.id, loaded) {
            Ok(_) => {
                let _ = writeln!(stderr, "resuming interrupted run {}", record.id);
            }
            Err(error) => {
                let _ = writeln!(
                    stderr,
                    "warning: interrupted run {} not resumed: {error}",
                    record.id
                );
            }
        }
    }
}

/// Loads the directory again whenever a file in it changed.
async fn reload(
    shared: Arc<Shared>,
    dir: PathBuf,
    every: Duration,
    bus: Arc<dyn crate::host::effects::events::EventBus>,
) {
    loop {
        tokio::time::sleep(every).await;
        let current = shared.catalog();
        let scanned = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || Fingerprint::of(&dir)).await
        };
        let Ok(scanned) = scanned else { continue };
        if scanned == current.fingerprint {
            continue;
        }
        let loaded = {
            let dir = dir.clone();
            let current = Arc::clone(&current);
            tokio::task::spawn_blocking(move || Catalog::load(&dir, Some(&current))).await
        };
        let Ok(catalog) = loaded else { continue };
        let catalog = Arc::new(catalog);
        let mut stderr = std::io::stderr();
        report_catalog(&catalog, Some(&current), &mut stderr);
        let _ = writeln!(
            stderr,
            "reloaded {}: {} workflow{}, {} invalid",
            dir.display(),
            catalog.workflows.len(),
            if catalog.workflows.len() == 1 {
                ""
            } else {
                "s"
            },
            catalog.invalid.len()
        );
        shared.replace_catalog(Arc::clone(&catalog));
        shared.scheduler.sync(&catalog, &shared.dispatcher);
        shared.triggers.sync(&catalog, &shared.dispatcher, &bus);
    }
}
