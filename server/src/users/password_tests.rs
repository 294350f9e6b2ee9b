#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Cheap parameters so unit tests stay fast.
pub(crate) const CHEAP: Argon2Settings = Argon2Settings {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn pw(s: &str) -> Password {
    Password::new(Zeroizing::new(s.to_string())).unwrap()
}

fn hashes() -> usize {
    HASHES.with(std::cell::Cell::get)
}

#[test]
fn length_limits_are_checked_without_echoing() {
    for (text, why) in [
        ("short12", "at least 8 characters"),
        (&"x".repeat(1025), "at most 1024 bytes"),
    ] {
        let before = hashes();
        let err = Password::new(Zeroizing::new(text.to_string())).unwrap_err();
        assert!(err.to_string().starts_with("password: "), "{err}");
        assert!(err.to_string().contains(why), "{err}");
        assert!(
            !err.to_string().contains(text),
            "the password is not echoed"
        );
        assert_eq!(hashes(), before, "nothing hashed");
    }
    // Limits: 8 characters (not bytes) minimum, 1024 bytes maximum.
    Password::new(Zeroizing::new("éééééééé".into())).unwrap();
    Password::new(Zeroizing::new("x".repeat(1024))).unwrap();
    assert!(Password::new(Zeroizing::new("é".repeat(513))).is_err());
    assert_eq!(format!("{:?}", pw("correct horse")), "Password(<redacted>)");
}

#[test]
fn hashes_are_argon2id_phc_with_parameters_and_verify() {
    let hash = hash_password(&pw("correct horse"), &CHEAP).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    let again = hash_password(&pw("correct horse"), &CHEAP).unwrap();
    assert_ne!(hash, again, "random salt");
    let ok = verify_password(Some(&hash), &pw("correct horse"), &CHEAP);
    assert_eq!(
        ok,
        Verified {
            ok: true,
            rehash: None
        }
    );
    let bad = verify_password(Some(&hash), &pw("correct horsE"), &CHEAP);
    assert!(!bad.ok && bad.rehash.is_none());
}

#[test]
fn a_match_with_old_parameters_is_rehashed_with_the_configured_ones() {
    let old = hash_password(&pw("correct horse"), &CHEAP).unwrap();
    let stronger = Argon2Settings {
        memory_kib: 128,
        iterations: 2,
        parallelism: 1,
    };
    let verified = verify_password(Some(&old), &pw("correct horse"), &stronger);
    assert!(verified.ok);
    let new = verified.rehash.expect("re-hashed");
    assert!(new.starts_with("$argon2id$v=19$m=128,t=2,p=1$"), "{new}");
    assert!(
        verify_password(Some(&new), &pw("correct horse"), &stronger)
            == Verified {
                ok: true,
                rehash: None
            }
    );
    // A wrong password is never re-hashed.
    let wrong = verify_password(Some(&old), &pw("wrong horse"), &stronger);
    assert_eq!(
        wrong,
        Verified {
            ok: false,
            rehash: None
        }
    );
}

#[test]
fn unknown_users_and_unusable_hashes_cost_one_verification_and_fail() {
    let real = hash_password(&pw("correct horse"), &CHEAP).unwrap();
    for stored in [
        Some(real.as_str()),
        None,
        Some("not a phc string"),
        Some("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
        Some("$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
    ] {
        let before = hashes();
        let v = verify_password(stored, &pw("wrong horse"), &CHEAP);
        assert!(!v.ok, "{stored:?}");
        assert_eq!(
            hashes() - before,
            1,
            "exactly one Argon2 run for {stored:?}"
        );
    }
    // The dummy hash never matches, whatever is typed.
    assert!(!verify_password(None, &pw("AAAAAAAAAAAA"), &CHEAP).ok);
}

#[tokio::test]
async fn the_async_boundary_counts_per_instance() {
    let passwords = Passwords::new(CHEAP);
    let hash = passwords.hash(Arc::new(pw("correct horse"))).await.unwrap();
    let v = passwords
        .verify(Some(hash), Arc::new(pw("correct horse")))
        .await
        .unwrap();
    assert!(v.ok);
    let v = passwords
        .verify(None, Arc::new(pw("correct horse")))
        .await
        .unwrap();
    assert!(!v.ok);
    assert_eq!(
        passwords.hashes.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}

/// Prints the cost of candidate parameters (run in release with `--ignored --nocapture`);
/// how the defaults were chosen.
#[test]
#[ignore = "a measurement, not a check"]
fn argon2_cost() {
    let candidates = [
        (19 * 1024, 2, 1),
        (32 * 1024, 2, 1),
        (32 * 1024, 3, 1),
        (46 * 1024, 2, 1),
        (46 * 1024, 5, 1),
        (64 * 1024, 2, 1),
        (64 * 1024, 1, 1),
    ];
    for (m, t, p) in candidates {
        let settings = Argon2Settings {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        };
        let password = pw("correct horse battery staple");
        let runs = 5;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            hash_password(&password, &settings).unwrap();
        }
        println!(
            "m={m} KiB t={t} p={p}: {:?} per hash",
            started.elapsed() / runs
        );
    }
}
