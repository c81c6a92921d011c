//! The one cache of loaded things a run keeps (documents, functions, script sources, protos,
//! sub-workflows): computed at most once per key while it succeeds. A hundred branches asking
//! for the same key at once wait for one load; a failed load is not kept, so a later caller (a
//! task's retry, most often) loads again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::problem::WorkflowError;

/// Values computed at most once per key.
pub(crate) struct OnceMap<T> {
    cells: Mutex<HashMap<String, Arc<OnceCell<T>>>>,
}

impl<T> Default for OnceMap<T> {
    fn default() -> Self {
        OnceMap {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> OnceMap<T> {
    /// The value of `key`, computing it with `init` if no one has yet succeeded (concurrent
    /// callers of the same key wait for the one computing; when it fails, the next tries).
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
            match cells.get(key) {
                Some(cell) => Arc::clone(cell),
                None => Arc::clone(cells.entry(key.to_owned()).or_default()),
            }
        };
        cell.get_or_try_init(init).await.cloned()
    }
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
    async fn failures_are_not_kept() {
        let map: OnceMap<u32> = OnceMap::default();
        let failing = || async { Err(WorkflowError::new(ErrorKind::Communication, "down")) };
        assert!(map.get_or_init("k", failing).await.is_err());
        assert_eq!(map.get_or_init("k", || async { Ok(5) }).await, Ok(5));
        assert_eq!(map.get_or_init("k", || async { Ok(6) }).await, Ok(5));
    }
}
