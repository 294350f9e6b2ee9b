//! Seconds until each authority expires, computed at scrape time from the CA's published
//! snapshot and the clock (nothing to keep in step on rotation).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use tessera_proto::clock::Clock;
use tessera_proto::label_values;
use tokio::sync::watch;

use crate::ca::{AuthorityInfo, CaSnapshot, Kind, SlotState};

label_values! {
    /// Which authority.
    pub enum AuthorityLabel {
        /// X.509 CA.
        X509 => "x509",
        /// JWT-SVID key.
        Jwt => "jwt",
        /// OAuth access-token key.
        OAuth => "oauth",
    }
}

label_values! {
    /// Its rotation slot.
    pub enum StateLabel {
        /// Signing.
        Active => "active",
        /// Published, next to sign.
        Prepared => "prepared",
        /// Replaced, published until it expires.
        Old => "old",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, EncodeLabelSet)]
struct Labels {
    authority: AuthorityLabel,
    state: StateLabel,
}

/// `authority_expiry_seconds{authority, state}`: seconds until the authority of that kind
/// and slot expires (the soonest when several share one, e.g. old keys); negative once
/// expired. Only this replica's authorities. Registered before the CA opens (the endpoint
/// serves from the start) and [attached](Self::attach) once it has: no series until then.
#[derive(Debug, Clone, Default)]
pub struct CaExpiry {
    source: Arc<OnceLock<Source>>,
}

struct Source {
    snapshots: watch::Receiver<Arc<CaSnapshot>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").finish_non_exhaustive()
    }
}

impl CaExpiry {
    /// From now on, reads `snapshots` (the CA's `subscribe()`) and `clock` on every
    /// scrape. Set once: a second call is ignored.
    pub fn attach(&self, snapshots: watch::Receiver<Arc<CaSnapshot>>, clock: Arc<dyn Clock>) {
        let _ = self.source.set(Source { snapshots, clock });
    }
}

/// The soonest expiry (seconds from `now`) per kind and slot.
fn seconds_left(now: SystemTime, authorities: &[AuthorityInfo]) -> BTreeMap<Labels, i64> {
    let mut out = BTreeMap::new();
    for a in authorities {
        let labels = Labels {
            authority: match a.kind {
                Kind::X509 => AuthorityLabel::X509,
                Kind::Jwt => AuthorityLabel::Jwt,
                Kind::OAuth => AuthorityLabel::OAuth,
            },
            state: match a.state {
                SlotState::Active => StateLabel::Active,
                SlotState::Prepared => StateLabel::Prepared,
                SlotState::Old => StateLabel::Old,
            },
        };
        let left = match a.lifetime.not_after.duration_since(now) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        out.entry(labels)
            .and_modify(|v: &mut i64| *v = (*v).min(left))
            .or_insert(left);
    }
    out
}

impl Collector for CaExpiry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(source) = self.source.get() else {
            return Ok(());
        };
        let snapshot = source.snapshots.borrow().clone();
        let left = seconds_left(source.clock.now(), snapshot.authorities());
        let mut family = encoder.encode_descriptor(
            "authority_expiry_seconds",
            "Seconds until the CA or key of this kind (x509, jwt, oauth) and slot (active, \
             prepared, old) expires; negative once expired.",
            None,
            MetricType::Gauge,
        )?;
        for (labels, seconds) in &left {
            ConstGauge::new(*seconds).encode(family.encode_family(labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ca::KeyType;
    use crate::ca::slots::Lifetime;

    fn authority(kind: Kind, state: SlotState, not_after: u64) -> AuthorityInfo {
        AuthorityInfo {
            kind,
            id: "id".into(),
            state,
            key_type: KeyType::EcP256,
            lifetime: Lifetime {
                not_before: SystemTime::UNIX_EPOCH,
                not_after: SystemTime::UNIX_EPOCH + Duration::from_secs(not_after),
            },
            tainted: false,
            certificate: None,
            upstream_authority_id: None,
        }
    }

    #[test]
    fn soonest_per_kind_and_slot() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let left = seconds_left(
            now,
            &[
                authority(Kind::X509, SlotState::Active, 4600),
                authority(Kind::Jwt, SlotState::Old, 1500),
                authority(Kind::Jwt, SlotState::Old, 900),
                authority(Kind::Jwt, SlotState::Prepared, 9000),
            ],
        );
        let get = |authority, state| left[&Labels { authority, state }];
        assert_eq!(get(AuthorityLabel::X509, StateLabel::Active), 3600);
        assert_eq!(get(AuthorityLabel::Jwt, StateLabel::Old), -100);
        assert_eq!(get(AuthorityLabel::Jwt, StateLabel::Prepared), 8000);
        assert_eq!(left.len(), 3);
    }
}
