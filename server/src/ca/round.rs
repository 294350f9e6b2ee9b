//! One rotation round over one key set: the decisions of [`super::slots`] applied to a list
//! of authorities, and when that list next has something to do.

use std::time::SystemTime;

use super::CaError;
use super::authority::{Authority, promote_list};
use super::slots::{self, SlotState, Step};

/// Applies every step due at `now` to `list`, minting with `mint` (a PREPARED authority
/// valid from `now`); `what` names the set in logs.
pub fn rotate_list(
    list: &mut Vec<Authority>,
    now: SystemTime,
    what: &str,
    mut mint: impl FnMut() -> Result<Authority, CaError>,
) -> Result<(), CaError> {
    // Bounded: each step changes the slots; two steps at most per set.
    for _ in 0..4 {
        let active = in_state(list, SlotState::Active).map(|a| a.lifetime);
        let prepared = in_state(list, SlotState::Prepared).map(|a| a.lifetime);
        match slots::decide(now, active, prepared) {
            None => break,
            Some(Step::Mint { activate }) => {
                let fresh = mint()?;
                tracing::info!(kind = what, id = %fresh.id, "prepared a new authority");
                list.push(fresh);
                if activate {
                    promote_list(list, what);
                }
            }
            Some(Step::Activate) => promote_list(list, what),
        }
    }
    Ok(())
}

/// The next instant after `now` at which rotation or expiry pruning has work in `list`.
pub fn next_event(list: &[Authority], now: SystemTime) -> Option<SystemTime> {
    slots::next_event(
        now,
        in_state(list, SlotState::Active).map(|a| a.lifetime),
        in_state(list, SlotState::Prepared).map(|a| a.lifetime),
        list.iter()
            .filter(|a| a.state == SlotState::Old)
            .map(|a| a.lifetime),
    )
}

fn in_state(list: &[Authority], state: SlotState) -> Option<&Authority> {
    list.iter().find(|a| a.state == state)
}
