#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

#[test]
fn backoff_is_free_then_doubles_up_to_the_cap() {
    let p = ThrottlePolicy::default();
    let delays: Vec<i64> = (1..=17).map(|n| p.delay_after(n)).collect();
    assert_eq!(
        delays,
        [
            0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900
        ]
    );
    assert_eq!(p.delay_after(u32::MAX), 900);
}

#[test]
fn an_account_is_locked_after_the_free_failures_and_cleared_by_success() {
    let guard = LoginGuard::default();
    let mut counters = LoginCounters::default();
    let t = 1_000_000;
    for n in 0..5 {
        drop(guard.check("alice", Some(&counters), ip(n), at(t)).unwrap());
        counters = guard.record_failure("alice", Some(&counters), ip(n), at(t));
    }
    // Fifth failure: still free. Sixth: a 1 s lock.
    drop(guard.check("alice", Some(&counters), ip(9), at(t)).unwrap());
    counters = guard.record_failure("alice", Some(&counters), ip(9), at(t));
    assert_eq!(counters.failures, 6);
    let refused = guard
        .check("alice", Some(&counters), ip(10), at(t))
        .unwrap_err();
    assert_eq!(refused, RetryAfter { seconds: 1 });
    drop(
        guard
            .check("alice", Some(&counters), ip(10), at(t + 1))
            .unwrap(),
    );
    counters = guard.record_failure("alice", Some(&counters), ip(10), at(t + 1));
    assert_eq!(
        guard
            .check("alice", Some(&counters), ip(11), at(t + 2))
            .unwrap_err(),
        RetryAfter { seconds: 1 }
    );
    assert!(
        guard
            .check("alice", Some(&counters), ip(11), at(t + 3))
            .is_ok()
    );
    assert_eq!(guard.record_success("alice"), LoginCounters::default());
    // The stored counters still lock (e.g. written by another replica)...
    assert!(
        guard
            .check("alice", Some(&counters), ip(11), at(t + 2))
            .is_err()
    );
    // ...and so do the ones kept here when the stored ones lag behind.
    let stale = LoginCounters::default();
    for _ in 0..6 {
        guard.record_failure("alice", Some(&stale), ip(12), at(t + 10));
    }
    assert!(
        guard
            .check("alice", Some(&stale), ip(13), at(t + 10))
            .is_err()
    );
}

/// Removing the in-memory counters of unknown usernames makes this fail: an attacker
/// could tell accounts apart by which ones ever answer "retry later". (The "exists" side
/// passes its stored counters as an existing account does.)
#[test]
fn unknown_usernames_get_answers_of_the_same_shape_at_the_same_moments() {
    let guard = LoginGuard::default();
    let mut known = LoginCounters::default();
    let t = 5_000_000;
    for i in 0..12u64 {
        let now = at(t + i / 3);
        let src = ip(u8::try_from(i).unwrap());
        let a = guard.check("exists", Some(&known), src, now).map(drop);
        let b = guard.check("ghost", None, src, now).map(drop);
        assert_eq!(a, b, "attempt {i}");
        if a.is_ok() {
            known = guard.record_failure("exists", Some(&known), src, now);
            let ghost = guard.record_failure("ghost", None, src, now);
            assert_eq!(ghost, known);
        }
    }
    assert_eq!(known.failures, 7);
    assert!(guard.check("ghost", None, ip(200), at(t + 3)).is_err());
    assert!(guard.check("ghost", None, ip(200), at(t + 4)).is_ok());
}

#[test]
fn a_source_runs_out_of_tries_across_usernames_and_earns_them_back() {
    let guard = LoginGuard::default();
    let t = 9_000_000;
    for n in 0..20 {
        let user = format!("user{n}");
        drop(guard.check(&user, None, ip(1), at(t)).unwrap());
        guard.record_failure(&user, None, ip(1), at(t));
    }
    let refused = guard.check("fresh", None, ip(1), at(t)).unwrap_err();
    assert_eq!(refused, RetryAfter { seconds: 6 });
    assert!(
        guard.check("fresh", None, ip(2), at(t)).is_ok(),
        "other sources unaffected"
    );
    assert_eq!(
        guard.check("fresh", None, ip(1), at(t + 5)).unwrap_err(),
        RetryAfter { seconds: 1 }
    );
    drop(guard.check("fresh", None, ip(1), at(t + 6)).unwrap());
    guard.record_failure("fresh", None, ip(1), at(t + 6));
    assert!(
        guard.check("other", None, ip(1), at(t + 6)).is_err(),
        "the earned try is used"
    );
    assert!(guard.check("other", None, ip(1), at(t + 6 + 120)).is_ok());
}

#[test]
fn one_attempt_per_username_at_a_time() {
    let guard = LoginGuard::default();
    let permit = guard.check("alice", None, ip(1), at(1)).unwrap();
    assert_eq!(
        guard.check("alice", None, ip(2), at(1)).unwrap_err(),
        RetryAfter { seconds: 1 }
    );
    assert!(guard.check("bob", None, ip(2), at(1)).is_ok());
    drop(permit);
    assert!(guard.check("alice", None, ip(2), at(1)).is_ok());
}
