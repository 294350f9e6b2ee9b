//! When to fetch a relationship's bundle next: pure functions of the refresh hint, the
//! configured bounds and the count of consecutive failures.

use std::time::Duration;

/// Used when the endpoint serves no `spiffe_refresh_hint` (then bounded like a hint).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// `[federation] min_refresh` / `max_refresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Shortest wait; first retry delay after a failure.
    pub min: Duration,
    /// Longest wait; cap of the back-off.
    pub max: Duration,
}

impl Bounds {
    /// The wait after an accepted fetch: the hint (or [`DEFAULT_REFRESH`]) within the bounds.
    pub fn after_success(&self, hint: Option<Duration>) -> Duration {
        hint.unwrap_or(DEFAULT_REFRESH)
            .clamp(self.min, self.max.max(self.min))
    }

    /// The wait after the `failures`-th failure in a row (1 for the first): `min`, doubling,
    /// capped at `max`.
    pub fn after_failure(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.min
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bounds = Bounds {
        min: Duration::from_secs(2),
        max: Duration::from_secs(60),
    };

    #[test]
    fn the_hint_is_honoured_within_the_bounds() {
        assert_eq!(B.after_success(Some(Duration::from_secs(30))).as_secs(), 30);
        assert_eq!(B.after_success(Some(Duration::from_secs(0))).as_secs(), 2);
        assert_eq!(
            B.after_success(Some(Duration::from_secs(86_400))).as_secs(),
            60
        );
        assert_eq!(B.after_success(None).as_secs(), 60, "default 5m, capped");
    }

    #[test]
    fn failures_back_off_up_to_the_cap() {
        let waits: Vec<u64> = (1..=7).map(|n| B.after_failure(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(B.after_failure(u32::MAX).as_secs(), 60);
    }
}
