//! What a run shares with the sub-workflows it starts (its family): the step budget, the
//! secrets, what was loaded (`Resources`), the container engine and the sub-workflows running in
//! the background.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::OnceCell;

use super::background::Started;
use super::error::{ErrorKind, WorkflowError};
use super::values::obj;
use crate::expr::{Val, from_json};
use crate::host::Executors;

/// How deep sub-workflows may nest (the top-level run is depth 0).
pub(crate) const MAX_DEPTH: usize = 16;

pub(crate) struct Family {
    steps: AtomicU64,
    max_steps: u64,
    /// The secrets given to the run: each workflow of the family must find the ones it declares
    /// here (a sub-workflow's must therefore be declared by the top-level workflow too, since
    /// only those are loaded and masked).
    pub(crate) provided: BTreeMap<String, Value>,
    /// `$secrets`, built once from `provided`, the same for every workflow of the family.
    pub(crate) secrets: Val,
    /// The container engine, found on first use.
    engine: OnceCell<PathBuf>,
    /// Sub-workflows started with `await: false`, adopted and polled by the run's driver,
    /// joined before the run ends.
    pub(crate) background: Started,
    /// Everything loaded once per run: documents, functions, script sources, sub-workflows.
    pub(crate) resources: super::resources::Resources,
    /// `--strict`: what would be a warning at run time (an undefined URI template variable)
    /// faults the task instead.
    pub(crate) strict: bool,
}

impl Family {
    pub(crate) fn new(max_steps: u64, provided: BTreeMap<String, Value>) -> Self {
        let secrets = obj(provided
            .iter()
            .map(|(name, value)| (name.as_str(), from_json(value))));
        Family {
            steps: AtomicU64::new(0),
            max_steps,
            provided,
            secrets,
            engine: OnceCell::new(),
            background: Started::default(),
            resources: Default::default(),
            strict: false,
        }
    }

    /// Counts one task execution, of any workflow of the family, against the budget.
    pub(crate) fn step(&self) -> Result<(), WorkflowError> {
        let done = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if done > self.max_steps {
            Err(WorkflowError::new(ErrorKind::Runtime, "Step budget exceeded").with_detail(format!(
                "step budget of {} tasks exceeded (a `then` loop or a `for` that does not end?)",
                self.max_steps
            )))
        } else {
            Ok(())
        }
    }

    /// The container engine, probed once per run (see `exec::container::find_engine`). A failed
    /// probe is not remembered: a later task probes again.
    pub(crate) async fn container_engine(
        &self,
        executors: &Executors,
    ) -> Result<PathBuf, WorkflowError> {
        self.engine
            .get_or_try_init(|| {
                crate::exec::container::find_engine(
                    executors.processes.as_ref(),
                    executors.container_engine.clone(),
                )
            })
            .await
            .cloned()
    }

    /// Starts `work` in the background; the run waits for it before it ends.
    pub(crate) fn spawn_background(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.background.push(work);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    fn family(max_steps: u64) -> Family {
        Family::new(max_steps, BTreeMap::new())
    }

    #[test]
    fn the_budget_counts_every_step() {
        let family = family(2);
        assert!(family.step().is_ok() && family.step().is_ok());
        let error = family.step().err().unwrap_or_else(|| panic!("no error"));
        assert_eq!(error.title.as_deref(), Some("Step budget exceeded"));
    }

    #[tokio::test]
    async fn background_work_is_joined_even_when_it_starts_more() {
        let family = Arc::new(family(10));
        let done = Arc::new(AtomicUsize::new(0));
        let (inner_family, inner_done) = (Arc::clone(&family), Arc::clone(&done));
        family.spawn_background(async move {
            let nested_done = Arc::clone(&inner_done);
            inner_family.spawn_background(async move {
                tokio::task::yield_now().await;
                nested_done.fetch_add(1, Ordering::Relaxed);
            });
            inner_done.fetch_add(1, Ordering::Relaxed);
        });
        super::super::background::Background::default()
            .join(&family.background)
            .await;
        assert_eq!(done.load(Ordering::Relaxed), 2);
    }
}
