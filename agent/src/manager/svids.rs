//! Issuing X.509-SVIDs for cached entries: decide (pure), request in batches — several in
//! flight, keys generated and answers checked on every core — then keep what checked out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::TrustAnchor;
use tessera_proto::parallel::map_blocking;
use tessera_proto::wire::tessera::agent::v1::{NewX509SvidParams, X509SvidResult};
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::rotation::{ReissueReason, reissue_reason};
use super::{Manager, ManagerError};
use crate::client;
use crate::metrics::RotationReason;
use crate::x509::{NewKey, SvidWithKey, X509Error, generate_key, trust_anchors, verify_svid};

/// Batches requested at once: while the server signs one, the agent generates the keys of
/// the next and checks the answers of the previous.
const IN_FLIGHT: usize = 4;

/// An entry that needs an SVID.
struct Wanted {
    entry_id: String,
    spiffe_id: String,
}

/// What became of one entry's request.
enum Outcome {
    Issued(SvidWithKey),
    /// The server answered an error for this entry.
    Refused {
        code: i32,
        message: String,
    },
    /// The server's answer did not check out.
    Invalid(X509Error),
    /// The server answered no result for this entry.
    Unanswered,
}

impl Manager {
    /// Requests SVIDs for every entry that needs one at `now`; keeps the old SVID (until it
    /// expires) for entries whose issuance failed.
    pub(super) async fn refresh_svids(
        &mut self,
        channel: Channel,
        now: SystemTime,
    ) -> Result<(), ManagerError> {
        let Some(bundle) = self.bundle.clone() else {
            return Err(ManagerError::NoTrustBundle);
        };
        let mut wanted = Vec::new();
        let mut reasons = HashMap::new();
        for (id, slot) in &self.entries {
            let held = slot.svid.as_ref().map(|(s, r)| (s.as_ref(), *r));
            if let Some(reason) = reissue_reason(now, &slot.entry, held, &bundle) {
                tracing::debug!(entry_id = %id, %reason, "X509-SVID needed");
                wanted.push(Wanted {
                    entry_id: id.clone(),
                    spiffe_id: slot.entry.spiffe_id.clone(),
                });
                reasons.insert(id.clone(), label(reason));
            }
        }
        // Drop SVIDs that expired, whatever happens next.
        for slot in self.entries.values_mut() {
            if slot.svid.as_ref().is_some_and(|(s, _)| s.is_expired(now)) {
                slot.svid = None;
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let anchors = Arc::new(trust_anchors(&bundle));
        let batch_size = self
            .config
            .x509_svid_batch_size
            .clamp(1, client::BATCH_LIMIT);
        let mut batches = Vec::new();
        let mut rest = wanted.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(batch_size).collect::<Vec<_>>());
        }
        let mut in_flight = JoinSet::new();
        for batch in batches {
            if in_flight.len() >= IN_FLIGHT
                && let Some(done) = in_flight.join_next().await
            {
                self.keep(done??, &reasons);
            }
            in_flight.spawn(issue_batch(channel.clone(), batch, anchors.clone(), now));
        }
        while let Some(done) = in_flight.join_next().await {
            self.keep(done??, &reasons);
        }
        Ok(())
    }

    /// Keeps the SVIDs that checked out; logs the rest.
    fn keep(
        &mut self,
        outcomes: Vec<(String, Outcome)>,
        reasons: &HashMap<String, RotationReason>,
    ) {
        for (entry_id, outcome) in outcomes {
            let Some(slot) = self.entries.get_mut(&entry_id) else {
                continue;
            };
            match outcome {
                Outcome::Issued(svid) => {
                    tracing::info!("issued X509-SVID for {}", svid.spiffe_id);
                    if let Some(reason) = reasons.get(&entry_id) {
                        self.metrics.rotated(*reason);
                    }
                    slot.svid = Some((Arc::new(svid), slot.entry.revision));
                }
                Outcome::Refused { code, message } => {
                    tracing::warn!(%entry_id, code, %message, "X509-SVID not issued");
                }
                Outcome::Invalid(e) => {
                    tracing::warn!(%entry_id, error = %e, "refusing an X509-SVID from the server");
                }
                Outcome::Unanswered => {
                    tracing::warn!(%entry_id, "the server returned no result for this entry");
                }
            }
        }
    }
}

/// One batch: keys and CSRs on every core, one `BatchNewX509Svid`, answers checked on every
/// core.
async fn issue_batch(
    channel: Channel,
    batch: Vec<Wanted>,
    anchors: Arc<Vec<TrustAnchor<'static>>>,
    now: SystemTime,
) -> Result<Vec<(String, Outcome)>, ManagerError> {
    let keyed: Vec<(Wanted, NewKey)> = map_blocking(batch, |w| generate_key().map(|k| (w, k)))
        .await?
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| ManagerError::Crypto(e.to_string()))?;
    let params = keyed
        .iter()
        .map(|(w, key)| NewX509SvidParams {
            entry_id: w.entry_id.clone(),
            csr: key.csr.clone(),
        })
        .collect();
    let mut answers: HashMap<String, X509SvidResult> =
        client::batch_new_x509_svids(channel, params)
            .await?
            .into_iter()
            .map(|r| (r.entry_id.clone(), r))
            .collect();
    let checks: Vec<(Wanted, NewKey, Option<X509SvidResult>)> = keyed
        .into_iter()
        .map(|(w, key)| {
            let answer = answers.remove(&w.entry_id);
            (w, key, answer)
        })
        .collect();
    map_blocking(checks, move |(w, key, answer)| {
        let outcome = check(&w, key, answer, &anchors, now);
        (w.entry_id, outcome)
    })
    .await
    .map_err(ManagerError::from)
}

/// Checks the server's answer for `wanted`: the chain certifies our key, names the entry's
/// SPIFFE ID and verifies up to the bundle at `now`.
fn check(
    wanted: &Wanted,
    key: NewKey,
    answer: Option<X509SvidResult>,
    anchors: &[TrustAnchor<'static>],
    now: SystemTime,
) -> Outcome {
    let Some(result) = answer else {
        return Outcome::Unanswered;
    };
    if result.code != 0 {
        return Outcome::Refused {
            code: result.code,
            message: result.message,
        };
    }
    let Some(svid) = result.svid else {
        return Outcome::Refused {
            code: result.code,
            message: "a result without an SVID".into(),
        };
    };
    let checked = SvidWithKey::from_parts(
        svid.cert_chain,
        key.private_key_pkcs8,
        Some(&key.public_key_spki),
    )
    .and_then(|s| verify_svid(&s, anchors, &wanted.spiffe_id, now).map(|()| s));
    match checked {
        Ok(svid) => Outcome::Issued(svid),
        Err(e) => Outcome::Invalid(e),
    }
}

/// The metrics label of a reissue reason.
fn label(reason: ReissueReason) -> RotationReason {
    match reason {
        ReissueReason::Missing => RotationReason::New,
        ReissueReason::Expired => RotationReason::Expired,
        ReissueReason::HalfLife => RotationReason::HalfLife,
        ReissueReason::EntryChanged => RotationReason::EntryChanged,
        ReissueReason::Tainted => RotationReason::Tainted,
    }
}
