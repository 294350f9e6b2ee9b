//! Rotation decisions: PREPARED → ACTIVE → OLD, as pure functions of `now`.
//!
//! The next authority is prepared when the active one has ≤ 1/2 of its life left and
//! activated when ≤ 1/6 is left (SPIRE's schedule). OLD authorities stay published
//! until they expire.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Where an authority is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotState {
    /// Minted and published in the bundle, not yet signing.
    Prepared,
    /// Signing.
    Active,
    /// Replaced; published until it expires.
    Old,
}

/// An authority's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

impl Lifetime {
    fn total(&self) -> Duration {
        self.not_after
            .duration_since(self.not_before)
            .unwrap_or_default()
    }

    /// When the next authority should be prepared: ≤ 1/2 of the life left.
    pub fn prepare_at(&self) -> SystemTime {
        self.not_after - self.total() / 2
    }

    /// When the prepared authority should take over: ≤ 1/6 of the life left.
    pub fn activate_at(&self) -> SystemTime {
        self.not_after - self.total() / 6
    }

    /// Whether the window has ended at `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        now >= self.not_after
    }
}

/// One rotation step to take now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Mint a new authority; activate it at once when nothing valid is signing.
    Mint {
        /// Activate immediately (first start, or the active one expired with nothing prepared).
        activate: bool,
    },
    /// Promote the prepared authority; the active one becomes OLD.
    Activate,
}

/// The step due at `now`, if any. Apply it and ask again until `None`.
pub fn decide(
    now: SystemTime,
    active: Option<Lifetime>,
    prepared: Option<Lifetime>,
) -> Option<Step> {
    let prepared_usable = prepared.filter(|p| !p.expired(now));
    match active {
        None => Some(match prepared_usable {
            Some(_) => Step::Activate,
            None => Step::Mint { activate: true },
        }),
        Some(a) if a.expired(now) => Some(match prepared_usable {
            Some(_) => Step::Activate,
            None => Step::Mint { activate: true },
        }),
        Some(a) => match prepared_usable {
            Some(_) if now >= a.activate_at() => Some(Step::Activate),
            Some(_) => None,
            None if now >= a.prepare_at() => Some(Step::Mint { activate: false }),
            None => None,
        },
    }
}

/// The next instant at which [`decide`] or expiry pruning will have something to do.
pub fn next_event(
    now: SystemTime,
    active: Option<Lifetime>,
    prepared: Option<Lifetime>,
    old: impl IntoIterator<Item = Lifetime>,
) -> Option<SystemTime> {
    let mut events: Vec<SystemTime> = old.into_iter().map(|o| o.not_after).collect();
    if let Some(a) = active {
        events.push(a.not_after);
        match prepared {
            Some(p) => {
                events.push(a.activate_at());
                events.push(p.not_after);
            }
            None => events.push(a.prepare_at()),
        }
    }
    events.into_iter().filter(|t| *t > now).min()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn life(start: SystemTime, hours: u64) -> Lifetime {
        Lifetime {
            not_before: start,
            not_after: start + HOUR * hours as u32,
        }
    }

    #[test]
    fn first_start_mints_and_activates() {
        let now = SystemTime::UNIX_EPOCH + HOUR * 1000;
        assert_eq!(decide(now, None, None), Some(Step::Mint { activate: true }));
    }

    #[test]
    fn prepares_at_half_life_and_activates_at_one_sixth() {
        let t0 = SystemTime::UNIX_EPOCH + HOUR * 1000;
        let active = life(t0, 24);
        assert_eq!(decide(t0 + HOUR * 11, Some(active), None), None);
        assert_eq!(
            decide(t0 + HOUR * 12, Some(active), None),
            Some(Step::Mint { activate: false })
        );
        let prepared = life(t0 + HOUR * 12, 24);
        assert_eq!(decide(t0 + HOUR * 19, Some(active), Some(prepared)), None);
        assert_eq!(
            decide(t0 + HOUR * 20, Some(active), Some(prepared)),
            Some(Step::Activate)
        );
    }

    #[test]
    fn an_expired_active_is_replaced_by_the_prepared_or_a_new_one() {
        let t0 = SystemTime::UNIX_EPOCH + HOUR * 1000;
        let active = life(t0, 24);
        let prepared = life(t0 + HOUR * 12, 24);
        let late = t0 + HOUR * 30;
        assert_eq!(
            decide(late, Some(active), Some(prepared)),
            Some(Step::Activate)
        );
        let later = t0 + HOUR * 40;
        assert_eq!(
            decide(later, Some(active), Some(prepared)),
            Some(Step::Mint { activate: true })
        );
    }

    #[test]
    fn next_event_is_the_earliest_future_instant() {
        let t0 = SystemTime::UNIX_EPOCH + HOUR * 1000;
        let active = life(t0, 24);
        assert_eq!(next_event(t0, Some(active), None, []), Some(t0 + HOUR * 12));
        let prepared = life(t0 + HOUR * 12, 24);
        assert_eq!(
            next_event(t0 + HOUR * 12, Some(active), Some(prepared), []),
            Some(t0 + HOUR * 20)
        );
        let old = life(t0 - HOUR * 20, 24);
        assert_eq!(
            next_event(t0 + HOUR, Some(active), Some(prepared), [old]),
            Some(t0 + HOUR * 4)
        );
    }
}
