//! Keeping the stored trust bundle in step with this server's authorities.

use std::time::{Duration, SystemTime};

use tessera_proto::clock::unix_seconds;
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::types::v1::{Bundle, JwtAuthority, X509Authority};
use x509_parser::prelude::*;

/// What this server contributes to the bundle.
#[derive(Debug, Default, Clone)]
pub struct Contribution {
    /// X.509 trust anchors (DER) with their taint marks.
    pub x509: Vec<X509Authority>,
    /// JWT keys.
    pub jwt: Vec<JwtAuthority>,
}

/// Authorities revoked by the operation at hand: removed from the bundle.
#[derive(Debug, Default, Clone)]
pub struct Revoked {
    /// DER certificates.
    pub x509: Vec<Vec<u8>>,
    /// Key IDs.
    pub jwt: Vec<String>,
}

fn x509_expired(der: &[u8], now: SystemTime) -> bool {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert.validity().not_after.timestamp() <= unix_seconds(now),
        // Unparsable: drop it rather than publish garbage.
        Err(_) => true,
    }
}

/// The bundle after applying `own` and `revoked` to `existing` and pruning what expired;
/// `None` when nothing changed. The sequence is bumped on every change.
pub fn reconcile(
    existing: Option<&Bundle>,
    trust_domain: &TrustDomain,
    own: &Contribution,
    revoked: &Revoked,
    now: SystemTime,
    refresh_hint: Duration,
) -> Option<Bundle> {
    let mut next = existing.cloned().unwrap_or_else(|| Bundle {
        trust_domain: trust_domain.to_string(),
        ..Bundle::default()
    });
    next.x509_authorities
        .retain(|a| !revoked.x509.contains(&a.asn1) && !x509_expired(&a.asn1, now));
    for mine in &own.x509 {
        match next
            .x509_authorities
            .iter_mut()
            .find(|a| a.asn1 == mine.asn1)
        {
            Some(present) => present.tainted = mine.tainted,
            None => next.x509_authorities.push(mine.clone()),
        }
    }
    let now_secs = unix_seconds(now);
    next.jwt_authorities
        .retain(|a| !revoked.jwt.contains(&a.key_id) && a.expires_at > now_secs);
    for mine in &own.jwt {
        match next
            .jwt_authorities
            .iter_mut()
            .find(|a| a.key_id == mine.key_id)
        {
            Some(present) => *present = mine.clone(),
            None => next.jwt_authorities.push(mine.clone()),
        }
    }
    next.refresh_hint_seconds = i64::try_from(refresh_hint.as_secs()).unwrap_or(i64::MAX);
    if existing == Some(&next) {
        return None;
    }
    next.sequence = existing.map_or(1, |b| b.sequence + 1);
    Some(next)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn td() -> TrustDomain {
        "example.org".parse().unwrap()
    }

    fn jwt(kid: &str, expires_at: i64) -> JwtAuthority {
        JwtAuthority {
            key_id: kid.into(),
            public_key: vec![1],
            expires_at,
            tainted: false,
        }
    }

    #[test]
    fn changes_bump_the_sequence_and_no_change_writes_nothing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let hint = Duration::from_secs(300);
        let own = Contribution {
            x509: vec![],
            jwt: vec![jwt("k1", 5000)],
        };
        let b1 = reconcile(None, &td(), &own, &Revoked::default(), now, hint).unwrap();
        assert_eq!(b1.sequence, 1);
        assert!(reconcile(Some(&b1), &td(), &own, &Revoked::default(), now, hint).is_none());

        let mut tainted = own.clone();
        tainted.jwt[0].tainted = true;
        let b2 = reconcile(Some(&b1), &td(), &tainted, &Revoked::default(), now, hint).unwrap();
        assert_eq!(b2.sequence, 2);
        assert!(b2.jwt_authorities[0].tainted);

        let revoked = Revoked {
            x509: vec![],
            jwt: vec!["k1".into()],
        };
        let b3 = reconcile(
            Some(&b2),
            &td(),
            &Contribution::default(),
            &revoked,
            now,
            hint,
        )
        .unwrap();
        assert_eq!(b3.sequence, 3);
        assert!(b3.jwt_authorities.is_empty());
    }

    #[test]
    fn expired_keys_of_any_replica_are_pruned_and_others_kept() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let existing = Bundle {
            trust_domain: "example.org".into(),
            jwt_authorities: vec![jwt("other-replica", 9000), jwt("expired", 999)],
            sequence: 4,
            refresh_hint_seconds: 300,
            ..Bundle::default()
        };
        let own = Contribution::default();
        let next = reconcile(
            Some(&existing),
            &td(),
            &own,
            &Revoked::default(),
            now,
            Duration::from_secs(300),
        )
        .unwrap();
        assert_eq!(next.sequence, 5);
        let kids: Vec<_> = next
            .jwt_authorities
            .iter()
            .map(|a| a.key_id.as_str())
            .collect();
        assert_eq!(kids, ["other-replica"]);
    }
}
