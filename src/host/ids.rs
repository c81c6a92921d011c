//! Ids and randomness a run needs: run ids (`$workflow.id`), CloudEvent ids, the ids of emitted
//! events and A2A messages, and retry jitter.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where a run's ids and random numbers come from.
pub trait Ids: Send + Sync {
    /// A new run's id (a sub-workflow's too): time-ordered.
    fn run_id(&self) -> String;
    /// The id of a lifecycle event published at `time`.
    fn event_id(&self, time: DateTime<Utc>) -> Uuid;
    /// A random unique id (an emitted event without one, an A2A message).
    fn unique(&self) -> Uuid;
    /// A number in `[0, 1)` (retry jitter).
    fn fraction(&self) -> f64;
}

/// The local host's ids: UUID v7 run and event ids, UUID v4 otherwise, the thread's generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn run_id(&self) -> String {
        Uuid::now_v7().to_string()
    }

    /// The random bits come from the thread's generator: `Uuid::now_v7` asks the operating
    /// system for them, a system call per event that cost a 100,000-iteration loop a quarter of
    /// its time.
    fn event_id(&self, time: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(time.timestamp_millis()).unwrap_or_default();
        let random: [u8; 10] = rand::random();
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn unique(&self) -> Uuid {
        Uuid::new_v4()
    }

    fn fraction(&self) -> f64 {
        rand::random::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_version_7_and_carry_their_time() {
        let time = Utc::now();
        let id = RandomIds.event_id(time);
        assert_eq!(id.get_version_num(), 7);
        let (seconds, _) = id.get_timestamp().map(|t| t.to_unix()).unwrap_or_default();
        assert_eq!(i64::try_from(seconds).ok(), Some(time.timestamp()));
        assert_ne!(RandomIds.run_id(), RandomIds.run_id());
        assert!((0.0..1.0).contains(&RandomIds.fraction()));
    }
}
