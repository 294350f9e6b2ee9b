//! Reconnect delays: doubling from a floor to a ceiling, each wait jittered (between half and
//! all of the current delay) so that many clients cut off at once do not come back in step.
//! Randomness is an input, so the schedule is a pure function tests can drive.

use std::time::Duration;

/// A random `u32` for [`Backoff::next_wait`]: from the standard library's per-process random
/// hash keys (jitter needs spread, not secrecy).
pub fn jitter_random() -> u32 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64,
    );
    hasher.finish() as u32
}

/// A doubling, jittered delay between attempts; [`Backoff::reset`] after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    floor: Duration,
    ceiling: Duration,
    current: Duration,
}

impl Backoff {
    /// Delays from `floor` doubling up to `ceiling`.
    pub fn new(floor: Duration, ceiling: Duration) -> Self {
        Self {
            floor,
            ceiling: ceiling.max(floor),
            current: floor,
        }
    }

    /// The wait before the next attempt, given a random `u32`: between half and all of the
    /// current delay, which then doubles (capped).
    pub fn next_wait(&mut self, random: u32) -> Duration {
        let delay = self.current;
        self.current = self.current.saturating_mul(2).min(self.ceiling);
        let half = delay / 2;
        let fraction = f64::from(random) / f64::from(u32::MAX);
        half + half.mul_f64(fraction)
    }

    /// Back to the floor (the last attempt succeeded).
    pub fn reset(&mut self) {
        self.current = self.floor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_ceiling_within_half_to_full_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(b.next_wait(u32::MAX), Duration::from_millis(100));
        assert_eq!(b.next_wait(0), Duration::from_millis(100));
        let w = b.next_wait(u32::MAX / 2);
        assert!(
            w > Duration::from_millis(290) && w < Duration::from_millis(310),
            "{w:?}"
        );
        assert_eq!(b.next_wait(u32::MAX), Duration::from_millis(800));
        assert_eq!(b.next_wait(u32::MAX), Duration::from_secs(1));
        assert_eq!(b.next_wait(u32::MAX), Duration::from_secs(1));
        b.reset();
        assert_eq!(b.next_wait(u32::MAX), Duration::from_millis(100));
    }
}
