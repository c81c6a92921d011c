//! The HTTP API of `workflow serve` (`/api/v1/...`, `/healthz`, `/metrics`) and the web UI at
//! `/`: axum handlers over the server's shared state. Errors are RFC 9457 problem objects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::catalog::{Loaded, WorkflowKey};
use super::dispatch::{Admitted, DispatchError};
use super::server::Shared;
use crate::journal::{JournalError, RunFilter, RunState, Timeline, states_by_task};

/// The OpenAPI 3.1 description of this API.
const OPENAPI: &str = include_str!("openapi.json");
/// The web UI: one page, its script and style inline (no CDN).
const UI: &str = include_str!("ui.html");
/// Mermaid 11.17.2 (MIT, `assets/mermaid.LICENSE`), from npm's `mermaid/dist`: the run page
/// draws `graph --run`'s picture in the browser, with nothing fetched from a CDN.
const MERMAID: &str = include_str!("assets/mermaid.min.js");

type App = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // Everything but the page, its script, `/healthz` and the API's description asks for the
    // token: one layer in front of those routes, so a new route cannot forget it.
    let guarded = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/workflows", get(workflows))
        .route(
            "/api/v1/workflows/{namespace}/{name}/{version}/runs",
            post(start_run),
        )
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/runs/{id}", get(run))
        .route("/api/v1/runs/{id}/events", get(run_events))
        .route("/api/v1/runs/{id}/logs", get(run_logs))
        .route("/api/v1/runs/{id}/graph", get(run_graph))
        .route("/api/v1/runs/{id}/cancel", post(cancel))
        .route("/api/v1/runs/{id}/resume", post(resume))
        .route("/api/v1/runs/{id}/retry", post(retry))
        .route("/api/v1/events", post(events))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            require_token,
        ));
    Router::new()
        .route("/", get(ui))
        .route("/assets/mermaid.min.js", get(mermaid))
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(openapi))
        .merge(guarded)
        .fallback(not_found)
        .with_state(shared)
}

/// An RFC 9457 problem answer; `extra` members are added to it.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str, extra: Value) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    with_type(status, body.to_string(), "application/problem+json")
}

fn with_type(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    with_type(status, body.to_string(), "application/json")
}

/// `--token`: the refusal to answer a guarded route when the request does not carry it.
fn refusal(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &shared.token else {
        return None;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    // Compared in constant time: the token is a secret.
    let matches = given.is_some_and(|given| {
        given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if matches {
        return None;
    }
    let mut response = problem(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "this server asks for `Authorization: Bearer <token>` (its --token)",
        json!({}),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Some(response)
}

/// The layer of the guarded routes: the refusal, or the route's own answer.
async fn require_token(State(shared): App, request: Request, next: Next) -> Response {
    match refusal(&shared, request.headers()) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// The query string's parameters (the last value of a repeated one wins).
fn query(raw: Option<String>) -> HashMap<String, String> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(&text.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(name), decode(value))
        })
        .collect()
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not found",
        "no such resource",
        json!({}),
    )
}

async fn ui() -> Response {
    with_type(StatusCode::OK, UI.to_owned(), "text/html; charset=utf-8")
}

async fn mermaid() -> Response {
    let mut response = with_type(
        StatusCode::OK,
        MERMAID.to_owned(),
        "text/javascript; charset=utf-8",
    );
    // The bundle changes only with the binary.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

async fn healthz(State(shared): App) -> Response {
    if shared.stopping() {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "stopping"}),
        );
    }
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn metrics(State(shared): App) -> Response {
    with_type(
        StatusCode::OK,
        shared.dispatcher.metrics.render(),
        "text/plain; version=0.0.4; charset=utf-8",
    )
}

async fn openapi() -> Response {
    with_type(StatusCode::OK, OPENAPI.to_owned(), "application/json")
}

fn workflow_json(shared: &Shared, loaded: &Loaded) -> Value {
    let document = &loaded.document;
    let schedule = document.schedule.as_ref().map(|schedule| {
        json!({
            "every": schedule.every.as_ref().and_then(|d| d.to_std().ok()).map(|d| d.as_secs_f64()),
            "cron": schedule.cron,
            "after": schedule.after.as_ref().and_then(|d| d.to_std().ok()).map(|d| d.as_secs_f64()),
            "on": schedule.on.is_some(),
        })
    });
    json!({
        "namespace": loaded.key.namespace,
        "name": loaded.key.name,
        "version": loaded.key.version,
        "title": document.meta.title,
        "summary": document.meta.summary,
        "path": loaded.path.display().to_string(),
        "schedule": schedule,
        "nextFireAt": shared.scheduler.next_fire(&loaded.key).map(crate::journal::stamp),
    })
}

async fn workflows(State(shared): App) -> Response {
    let catalog = shared.catalog();
    let workflows: Vec<Value> = catalog
        .workflows
        .values()
        .map(|loaded| workflow_json(&shared, loaded))
        .collect();
    let invalid: Vec<Value> = catalog
        .invalid
        .iter()
        .map(|invalid| {
            json!({"path": invalid.path.display().to_string(), "diagnostics": invalid.diagnostics})
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"workflows": workflows, "invalid": invalid}),
    )
}

/// The answer to a run the server took: `201 {id, status}`, or with `wait` the run's end.
async fn admitted(
    shared: &Shared,
    admitted: Admitted,
    wait: bool,
    created: StatusCode,
) -> Response {
    if !wait {
        let status = shared
            .dispatcher
            .live_status(&admitted.id)
            .unwrap_or("running");
        return json_response(created, &json!({"id": admitted.id, "status": status}));
    }
    let mut done = admitted.done;
    let end = match done.wait_for(Option::is_some).await {
        Ok(end) => end.clone(),
        Err(_) => None,
    };
    match end {
        Some(end) => json_response(StatusCode::OK, &end),
        // The server stopped before the run could start: it is resumed by the next start.
        None => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is stopping",
            "the run is recorded and will be resumed when the server starts again",
            json!({"id": admitted.id}),
        ),
    }
}

fn wants_wait(params: &HashMap<String, String>) -> bool {
    params
        .get("wait")
        .is_some_and(|v| v.is_empty() || v == "true" || v == "1")
}

async fn start_run(
    State(shared): App,
    Path((namespace, name, version)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let key = WorkflowKey {
        namespace,
        name,
        version,
    };
    let Some(loaded) = shared.catalog().get(&key).cloned() else {
        return problem(
            StatusCode::NOT_FOUND,
            "No such workflow",
            &format!("no valid workflow {key} is loaded (GET /api/v1/workflows lists them)"),
            json!({}),
        );
    };
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(input) => input,
            Err(error) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "The input is not JSON",
                    &error.to_string(),
                    json!({}),
                );
            }
        }
    };
    if let Err(error) = crate::runtime::check_input(&loaded.machine, &input) {
        return invalid_input(&error);
    }
    let wait = wants_wait(&query(raw));
    match shared.dispatcher.start(loaded, input, None) {
        Ok(run) => admitted(&shared, run, wait, StatusCode::CREATED).await,
        Err(error) => dispatch_problem(&error),
    }
}

fn dispatch_problem(error: &DispatchError) -> Response {
    match error {
        DispatchError::Stopping => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is stopping",
            &error.to_string(),
            json!({}),
        ),
        DispatchError::Conflict(message) => {
            problem(StatusCode::CONFLICT, "Conflict", message, json!({}))
        }
        DispatchError::RetryPoint(point) => problem(
            StatusCode::BAD_REQUEST,
            "No task to retry from",
            &point.to_string(),
            json!({}),
        ),
        DispatchError::Journal(journal) => journal_problem(journal),
        DispatchError::Start(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The journal cannot record the run",
            &error.to_string(),
            json!({}),
        ),
    }
}

/// 400 for an input its workflow's input schema refuses, with the check's problem as diagnostic.
fn invalid_input(error: &crate::problem::WorkflowError) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "The input does not match the workflow's input schema",
        error
            .detail
            .as_deref()
            .or(error.title.as_deref())
            .unwrap_or("invalid input"),
        json!({"diagnostics": [error.to_json()]}),
    )
}

fn journal_problem(error: &JournalError) -> Response {
    match error {
        JournalError::NotFound { .. } => problem(
            StatusCode::NOT_FOUND,
            "No such run",
            &error.to_string(),
            json!({}),
        ),
        JournalError::Ambiguous { .. } => problem(
            StatusCode::BAD_REQUEST,
            "Ambiguous run id",
            &error.to_string(),
            json!({}),
        ),
        _ => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The journal cannot be read",
            &error.to_string(),
            json!({}),
        ),
    }
}

/// A recorded run as the API shows it: `runs --format json`'s object, `status` saying
/// `queued` for a run waiting for a slot and `interrupted` for one no process runs.
fn run_json(shared: &Shared, record: &crate::journal::RunRecord) -> Value {
    let mut object = record.to_json();
    let status = match shared.dispatcher.live_status(&record.id) {
        Some(live) => live,
        None => record.state().as_str(),
    };
    if let Value::Object(map) = &mut object {
        map.insert("status".into(), json!(status));
        map.insert(
            "workflow".into(),
            json!(format!(
                "{}/{}/{}",
                record.namespace, record.name, record.version
            )),
        );
    }
    object
}

async fn runs(State(shared): App, RawQuery(raw): RawQuery) -> Response {
    let params = query(raw);
    let limit: usize = params
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let offset: usize = params
        .get("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let wanted_status = params.get("status").cloned();
    let status = match wanted_status.as_deref() {
        None | Some("queued") => None,
        Some(text) => match parse_state(text) {
            Some(state) => Some(state),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "Unknown status",
                    &format!(
                        "`{text}`: expected queued, running, interrupted, completed, faulted or \
                         cancelled"
                    ),
                    json!({}),
                );
            }
        },
    };
    // `workflow` is `namespace/name/version`, `namespace/name` or a name.
    let workflow = params.get("workflow").cloned();
    let parts: Vec<&str> = workflow
        .as_deref()
        .map(|w| w.split('/').collect())
        .unwrap_or_default();
    let name = match parts.as_slice() {
        [name] | [_, name] | [_, name, _] => Some((*name).to_owned()),
        _ => None,
    };
    let filter = RunFilter {
        status,
        name,
        limit: None,
    };
    let records = match shared.dispatcher.journal().runs(&filter) {
        Ok(records) => records,
        Err(error) => return journal_problem(&error),
    };
    let selected: Vec<Value> = records
        .iter()
        .filter(|record| match parts.as_slice() {
            [namespace, _] => record.namespace == *namespace,
            [namespace, _, version] => record.namespace == *namespace && record.version == *version,
            _ => true,
        })
        .map(|record| run_json(&shared, record))
        .filter(|run| {
            wanted_status.as_deref() != Some("queued") || run["status"] == json!("queued")
        })
        .skip(offset)
        .take(limit + 1)
        .collect();
    let more = selected.len() > limit;
    let page: Vec<Value> = selected.into_iter().take(limit).collect();
    let next = more.then(|| offset + limit);
    json_response(StatusCode::OK, &json!({"runs": page, "nextOffset": next}))
}

fn parse_state(text: &str) -> Option<RunState> {
    [
        RunState::Running,
        RunState::Interrupted,
        RunState::Completed,
        RunState::Faulted,
        RunState::Cancelled,
    ]
    .into_iter()
    .find(|state| state.as_str() == text)
}

async fn run(State(shared): App, Path(id): Path<String>) -> Response {
    let read = {
        let journal = shared.dispatcher.journal();
        journal
            .run(&id)
            .and_then(|record| journal.events(&record.id).map(|events| (record, events)))
    };
    let (record, events) = match read {
        Ok(read) => read,
        Err(error) => return journal_problem(&error),
    };
    let tasks: Vec<Value> = crate::journal::timeline(&events)
        .iter()
        .map(|execution| {
            json!({
                "task": execution.task,
                "step": execution.step,
                "status": execution.status.as_str(),
                "startedAt": execution.started.map(crate::journal::stamp),
                "endedAt": execution.ended.map(crate::journal::stamp),
                "attempts": execution.attempts,
                "error": execution.error,
                "replayed": execution.replayed,
            })
        })
        .collect();
    let mut object = run_json(&shared, &record);
    if let Value::Object(map) = &mut object {
        map.insert("tasks".into(), json!(tasks));
    }
    json_response(StatusCode::OK, &object)
}

/// How often live views look for new events and lines.
const POLL: Duration = Duration::from_millis(200);

/// Server-Sent Events: the run's recorded lifecycle events (CloudEvents), then the new ones
/// as they are recorded, until the run is over.
async fn run_events(State(shared): App, Path(id): Path<String>) -> Response {
    let record = match shared.dispatcher.journal().run(&id) {
        Ok(record) => record,
        Err(error) => return journal_problem(&error),
    };
    let stream = futures::stream::unfold(
        (shared, record, 0u64, false),
        |(shared, record, after, over)| async move {
            if over {
                return None;
            }
            loop {
                // Whether the run was over before reading: then nothing follows what is read.
                let (ended, events) = {
                    let journal = shared.dispatcher.journal();
                    let ended = shared.dispatcher.live_status(&record.id).is_none()
                        && journal
                            .run(&record.id)
                            .map(|run| run.state() != RunState::Running)
                            .unwrap_or(true);
                    let events = journal.events(&record.id).unwrap_or_default();
                    (ended, events)
                };
                let fresh: Vec<_> = events.into_iter().filter(|e| e.seq > after).collect();
                if !fresh.is_empty() || ended {
                    let last = fresh.last().map_or(after, |e| e.seq);
                    let mut text = String::new();
                    for event in &fresh {
                        text.push_str(&format!(
                            "id: {}\nevent: {}\ndata: {}\n\n",
                            event.seq,
                            event.kind,
                            event.to_cloudevent(&record)
                        ));
                    }
                    if ended {
                        text.push_str("event: end\ndata: {}\n\n");
                    }
                    return Some((
                        Ok::<_, std::convert::Infallible>(Bytes::from(text)),
                        (shared, record, last, ended),
                    ));
                }
                tokio::time::sleep(POLL).await;
            }
        },
    );
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// What the run's `run` tasks printed, after line `after` (0: from the start).
async fn run_logs(State(shared): App, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let after: i64 = query(raw)
        .get("after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let read = {
        let journal = shared.dispatcher.journal();
        journal
            .run(&id)
            .and_then(|record| journal.task_output(&record.id, after))
    };
    match read {
        Ok(lines) => {
            let lines: Vec<Value> = lines
                .iter()
                .map(|line| {
                    json!({
                        "num": line.num,
                        "workflow": line.workflow,
                        "task": line.task,
                        "step": line.step,
                        "stream": line.stream.name(),
                        "time": crate::journal::stamp(line.time),
                        "line": line.line,
                    })
                })
                .collect();
            json_response(StatusCode::OK, &json!({"lines": lines}))
        }
        Err(error) => journal_problem(&error),
    }
}

/// The Mermaid picture of the run's workflow, each task coloured by its state in the run
/// (`graph --run`), with the states by task.
async fn run_graph(State(shared): App, Path(id): Path<String>) -> Response {
    let read = {
        let journal = shared.dispatcher.journal();
        journal.run(&id).and_then(|record| {
            let mut timeline = Timeline::default();
            journal
                .visit_events(&record.id, |event| {
                    timeline.push(&event);
                    true
                })
                .map(|_| (record, timeline))
        })
    };
    let (record, timeline) = match read {
        Ok(read) => read,
        Err(error) => return journal_problem(&error),
    };
    let Some(loaded) = shared.loaded_for(&record) else {
        return problem(
            StatusCode::NOT_FOUND,
            "The run's workflow is not loaded",
            &format!("{} is not served (any more)", record.document_path),
            json!({}),
        );
    };
    let states: std::collections::BTreeMap<String, crate::graph::TaskState> =
        states_by_task(&timeline.finish())
            .into_iter()
            .map(|(task, status)| (task, crate::graph::TaskState::from(status)))
            .collect();
    let mermaid = crate::graph::render_run(
        &loaded.document,
        loaded.machine.targets(),
        crate::graph::Format::Mermaid,
        crate::graph::Direction::TopDown,
        &states,
    );
    let states: serde_json::Map<String, Value> = states
        .iter()
        .map(|(task, state)| (task.clone(), json!(state.class())))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"mermaid": mermaid, "states": states}),
    )
}

async fn cancel(State(shared): App, Path(id): Path<String>) -> Response {
    let record = match shared.dispatcher.journal().run(&id) {
        Ok(record) => record,
        Err(error) => return journal_problem(&error),
    };
    if shared.dispatcher.cancel(&record.id) {
        return json_response(
            StatusCode::ACCEPTED,
            &json!({"id": record.id, "status": "cancelling"}),
        );
    }
    problem(
        StatusCode::CONFLICT,
        "The run is not running here",
        &format!(
            "run {} is {}: only a queued or running run of this server can be cancelled",
            record.id,
            record.state().as_str()
        ),
        json!({}),
    )
}

/// The JSON object of a POST body, `{}` when empty.
fn body_object(body: &Bytes) -> Result<Value, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "The body is not a JSON object",
            "expected an object",
            json!({}),
        ))),
        Err(error) => Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "The body is not JSON",
            &error.to_string(),
            json!({}),
        ))),
    }
}

async fn resume(State(shared): App, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let record = match shared.dispatcher.journal().run(&id) {
        Ok(record) => record,
        Err(error) => return journal_problem(&error),
    };
    let Some(loaded) = shared.loaded_for(&record) else {
        return not_served(&record);
    };
    match shared.dispatcher.resume(&record.id, loaded) {
        Ok(run) => admitted(&shared, run, wants_wait(&query(raw)), StatusCode::ACCEPTED).await,
        Err(error) => dispatch_problem(&error),
    }
}

fn not_served(record: &crate::journal::RunRecord) -> Response {
    problem(
        StatusCode::CONFLICT,
        "The run's workflow is not served",
        &format!(
            "run {} is a run of {}, which is not a valid workflow of this server's directory",
            record.id, record.document_path
        ),
        json!({}),
    )
}

async fn retry(
    State(shared): App,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let body = match body_object(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let record = match shared.dispatcher.journal().run(&id) {
        Ok(record) => record,
        Err(error) => return journal_problem(&error),
    };
    let Some(loaded) = shared.loaded_for(&record) else {
        return not_served(&record);
    };
    let from = body.get("from").and_then(Value::as_str).map(str::to_owned);
    let input = body.get("input").cloned();
    if let Some(input) = &input
        && let Err(error) = crate::runtime::check_input(&loaded.machine, input)
    {
        return invalid_input(&error);
    }
    match shared
        .dispatcher
        .retry(&record.id, loaded, from.as_deref(), input)
    {
        Ok(run) => admitted(&shared, run, wants_wait(&query(raw)), StatusCode::CREATED).await,
        Err(error) => dispatch_problem(&error),
    }
}

/// CloudEvents ingress: each event goes to the `listen` tasks waiting for it and to the
/// `schedule.on` triggers; `202` once every event was taken by one of them (stored durably
/// for a listen; a run started for a trigger), `503` when none wants one (nothing is kept).
async fn events(State(shared): App, headers: HeaderMap, body: Bytes) -> Response {
    let events = match crate::exec::broker::receiver::parse(&headers, &body) {
        Ok(events) => events,
        Err(reason) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Not a CloudEvent",
                &reason,
                json!({}),
            );
        }
    };
    match shared.ingest(&events) {
        Ok(started) if started.untaken.is_empty() => json_response(
            StatusCode::ACCEPTED,
            &json!({"accepted": events.len(), "runs": started.runs}),
        ),
        Ok(started) => {
            let mut response = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "No listen or schedule wants this event",
                &format!(
                    "no listen task waits for, and no `schedule.on` takes, events of type {}",
                    started.untaken.join(", ")
                ),
                json!({"runs": started.runs}),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Err(reason) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The event could not be stored",
            &reason,
            json!({}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        let params = query(Some("workflow=a%2Fb&wait&status=running+x".into()));
        assert_eq!(params.get("workflow").map(String::as_str), Some("a/b"));
        assert_eq!(params.get("status").map(String::as_str), Some("running x"));
        assert!(wants_wait(&params));
        assert!(!wants_wait(&query(None)));
        assert!(serde_json::from_str::<Value>(OPENAPI).is_ok());
    }
}
