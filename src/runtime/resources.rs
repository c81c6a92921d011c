//! What one run loads at most once and shares between all its tasks, fork branches and custom
//! function runs: OpenAPI documents and gRPC protos by URL, custom function definitions by URL, and compiled
//! remote functions by call site. A hundred branches asking for the same document at once wait
//! for one load (a per-key `OnceCell`); a failed load is remembered too, so every caller gets
//! the same error without retrying the network.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;

use super::error::WorkflowError;
use crate::compile::Machine;
use crate::openapi::ApiDocument;

/// One key's eventual result.
type Cell<T> = Arc<OnceCell<Result<T, WorkflowError>>>;

/// Values computed at most once per key.
pub(crate) struct OnceMap<T> {
    cells: Mutex<HashMap<String, Cell<T>>>,
}

impl<T> Default for OnceMap<T> {
    fn default() -> Self {
        OnceMap {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> OnceMap<T> {
    /// The value of `key`, computing it with `init` if no one has (concurrent callers of the
    /// same key wait for the first one's result).
    pub(crate) async fn get_or_init<F, Fut>(&self, key: &str, init: F) -> Result<T, WorkflowError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, WorkflowError>>,
    {
        let cell = {
            let mut cells = match self.cells.lock() {
                Ok(cells) => cells,
                Err(poisoned) => poisoned.into_inner(),
            };
            Arc::clone(cells.entry(key.to_owned()).or_default())
        };
        cell.get_or_init(init).await.clone()
    }
}

/// The caches of one run.
#[derive(Default)]
pub(crate) struct Resources {
    pub openapi: OnceMap<Arc<ApiDocument>>,
    /// A gRPC call's proto and its imports, by URL (the executor compiles each once).
    pub protos: OnceMap<Arc<crate::exec::grpc::ProtoFiles>>,
    /// A function definition checked and wrapped as a one-task workflow document, by URL.
    pub function_documents: OnceMap<Arc<Value>>,
    /// A remote function compiled for one call site, by URL and calling task.
    pub functions: OnceMap<Arc<Machine>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_computation_per_key() {
        let map: OnceMap<u32> = OnceMap::default();
        let calls = AtomicUsize::new(0);
        let load = |value: u32| {
            let calls = &calls;
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(value)
            }
        };
        let all = futures::future::join_all((0..100).map(|_| map.get_or_init("a", load(1)))).await;
        assert!(all.iter().all(|r| *r == Ok(1)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(map.get_or_init("b", load(2)).await, Ok(2));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_are_remembered() {
        let map: OnceMap<u32> = OnceMap::default();
        let failing = || async { Err(WorkflowError::new(ErrorKind::Communication, "down")) };
        let first = map.get_or_init("k", failing).await;
        let second = map.get_or_init("k", || async { Ok(5) }).await;
        assert_eq!(first, second);
        assert!(first.is_err());
    }
}
