//! `Backoff`: how long to wait before each retry (decision 6), as a pure function so the
//! formulas are tested exactly; the engine only adds the random sample for the jitter.

use std::time::Duration;

use crate::compile::BackoffKind;

/// A resolved retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub kind: BackoffKind,
    pub delay: Duration,
    /// Extra delay drawn uniformly from `[from, to]`.
    pub jitter: Option<(Duration, Duration)>,
}

impl Backoff {
    /// The delay before retry `n` (n = 1 for the first retry): constant = `delay`, linear =
    /// `delay * n`, exponential = `delay * 2^(n-1)`, plus `from + (to - from) * sample` of
    /// jitter, where `sample` is in `[0, 1]`. Saturates instead of overflowing.
    pub(crate) fn delay(&self, n: u64, sample: f64) -> Duration {
        let n = n.max(1);
        let factor: u128 = match self.kind {
            BackoffKind::Constant => 1,
            BackoffKind::Linear => u128::from(n),
            BackoffKind::Exponential => {
                let exponent = u32::try_from(n - 1).unwrap_or(u32::MAX);
                2u128.checked_pow(exponent).unwrap_or(u128::MAX)
            }
        };
        let base = from_nanos(self.delay.as_nanos().saturating_mul(factor));
        let extra = match self.jitter {
            None => Duration::ZERO,
            Some((from, to)) => {
                let (low, high) = if from <= to { (from, to) } else { (to, from) };
                let span = (high - low).as_secs_f64() * sample.clamp(0.0, 1.0);
                low.saturating_add(Duration::try_from_secs_f64(span).unwrap_or(Duration::ZERO))
            }
        };
        base.saturating_add(extra)
    }
}

fn from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(kind: BackoffKind, millis: u64) -> Backoff {
        Backoff {
            kind,
            delay: Duration::from_millis(millis),
            jitter: None,
        }
    }

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn constant_linear_and_exponential_delays() {
        let constant = backoff(BackoffKind::Constant, 100);
        let linear = backoff(BackoffKind::Linear, 100);
        let exponential = backoff(BackoffKind::Exponential, 100);
        let delays = |b: Backoff| (1..=4).map(|n| ms(b.delay(n, 0.0))).collect::<Vec<_>>();
        assert_eq!(delays(constant), [100, 100, 100, 100]);
        assert_eq!(delays(linear), [100, 200, 300, 400]);
        assert_eq!(delays(exponential), [100, 200, 400, 800]);
    }

    #[test]
    fn jitter_is_added_within_its_range() {
        let b = Backoff {
            jitter: Some((Duration::from_millis(10), Duration::from_millis(30))),
            ..backoff(BackoffKind::Constant, 100)
        };
        assert_eq!(ms(b.delay(1, 0.0)), 110);
        assert_eq!(ms(b.delay(1, 0.5)), 120);
        assert_eq!(ms(b.delay(1, 1.0)), 130);
        // A reversed range is read as the same range.
        let reversed = Backoff {
            jitter: Some((Duration::from_millis(30), Duration::from_millis(10))),
            ..b
        };
        assert_eq!(ms(reversed.delay(1, 0.5)), 120);
    }

    #[test]
    fn huge_attempt_numbers_saturate() {
        let b = backoff(BackoffKind::Exponential, 1_000);
        assert!(b.delay(10_000, 0.0) >= Duration::from_secs(u64::MAX / 2));
        let zero = backoff(BackoffKind::Exponential, 0);
        assert_eq!(zero.delay(200, 0.0), Duration::ZERO);
        // n = 0 is read as the first retry.
        assert_eq!(ms(backoff(BackoffKind::Linear, 50).delay(0, 0.0)), 50);
    }
}
