//! Issuing X.509-SVIDs for cached entries: decide (pure), request in batches — several in
//! flight ([`Issuer`]), keys generated and answers checked on every core — then keep what
//! checked out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::TrustAnchor;
use tessera_proto::parallel::map_blocking;
use tessera_proto::wire::tessera::agent::v1::{
    NewX509SvidParams, SyncEntriesResponse, X509SvidResult,
};
use tonic::transport::Channel;

use super::issuer::Issuer;
use super::rotation::{ReissueReason, reissue_reason};
use super::{Manager, ManagerError};
use crate::client;
use crate::metrics::RotationReason;
use crate::x509::{NewKey, SvidWithKey, X509Error, generate_key, trust_anchors, verify_svid};

/// An entry that needs an SVID.
pub(super) struct Wanted {
    pub(super) entry_id: String,
    pub(super) spiffe_id: String,
}

/// What became of one entry's request.
pub(super) enum Outcome {
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
    /// This round's issuance pipeline, checking answers against the current bundle.
    pub(super) fn issuer(&self, channel: Channel, now: SystemTime) -> Result<Issuer, ManagerError> {
        let bundle = self.bundle.as_ref().ok_or(ManagerError::NoTrustBundle)?;
        let batch_size = self
            .config
            .x509_svid_batch_size
            .clamp(1, client::BATCH_LIMIT);
        Ok(Issuer::new(channel, trust_anchors(bundle), now, batch_size))
    }

    /// Requests, while the sync goes on, SVIDs for the entries `page` sends in full that
    /// need one — new or changed entries — judged against what the cache holds for them.
    /// They are authorized (the page lists them), so the request stands whatever the rest
    /// of the sync brings; an entry the merge then drops just has its SVID not kept.
    pub(super) fn want_early(
        &self,
        issuer: &mut Issuer,
        page: &SyncEntriesResponse,
        now: SystemTime,
    ) {
        let Some(bundle) = &self.bundle else {
            return;
        };
        let authorized: HashMap<&str, u64> = page
            .authorized
            .iter()
            .map(|a| (a.id.as_str(), a.revision))
            .collect();
        for entry in &page.entries {
            if authorized.get(entry.id.as_str()) != Some(&entry.revision) {
                continue;
            }
            let held = self
                .entries
                .get(&entry.id)
                .and_then(|slot| slot.svid.as_ref())
                .map(|(s, r)| (s.as_ref(), *r));
            if let Some(reason) = reissue_reason(now, entry, held, bundle) {
                tracing::debug!(entry_id = %entry.id, %reason, "X509-SVID needed");
                issuer.want(entry, label(reason));
            }
        }
    }

    /// Requests SVIDs for every cached entry that needs one at `now` (besides those
    /// `issuer` already has), waits for all, and keeps what checked out; keeps the old SVID
    /// (until it expires) for entries whose issuance failed.
    pub(super) async fn refresh_svids(
        &mut self,
        mut issuer: Issuer,
        now: SystemTime,
    ) -> Result<(), ManagerError> {
        let bundle = self.bundle.as_ref().ok_or(ManagerError::NoTrustBundle)?;
        for (id, slot) in &self.entries {
            if issuer.requested(id) {
                continue;
            }
            let held = slot.svid.as_ref().map(|(s, r)| (s.as_ref(), *r));
            if let Some(reason) = reissue_reason(now, &slot.entry, held, bundle) {
                tracing::debug!(entry_id = %id, %reason, "X509-SVID needed");
                issuer.want(&slot.entry, label(reason));
            }
        }
        // Drop SVIDs that expired, whatever happens next.
        for slot in self.entries.values_mut() {
            if slot.svid.as_ref().is_some_and(|(s, _)| s.is_expired(now)) {
                slot.svid = None;
            }
        }
        let (outcomes, reasons) = issuer.finish().await?;
        self.keep(outcomes, &reasons);
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
pub(super) async fn issue_batch(
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
