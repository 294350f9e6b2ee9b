//! Issuing X.509-SVIDs for cached entries: decide (pure), request in batches, check, keep.

use std::sync::Arc;
use std::time::SystemTime;

use tessera_proto::wire::tessera::agent::v1::NewX509SvidParams;
use tonic::transport::Channel;

use super::rotation::{ReissueReason, reissue_reason};
use super::{Manager, ManagerError};
use crate::client;
use crate::metrics::RotationReason;
use crate::x509::{NewKey, SvidWithKey, generate_key, verify_svid_chain};

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
        let mut pending: Vec<(String, NewKey)> = Vec::new();
        let mut reasons = std::collections::HashMap::new();
        for (id, slot) in &self.entries {
            let held = slot.svid.as_ref().map(|(s, r)| (s.as_ref(), *r));
            if let Some(reason) = reissue_reason(now, &slot.entry, held, &bundle) {
                tracing::debug!(entry_id = %id, %reason, "X509-SVID needed");
                let key = generate_key().map_err(|e| ManagerError::Crypto(e.to_string()))?;
                pending.push((id.clone(), key));
                reasons.insert(id.clone(), label(reason));
            }
        }
        // Drop SVIDs that expired, whatever happens next.
        for slot in self.entries.values_mut() {
            if slot.svid.as_ref().is_some_and(|(s, _)| s.is_expired(now)) {
                slot.svid = None;
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        let params = pending
            .iter()
            .map(|(id, key)| NewX509SvidParams {
                entry_id: id.clone(),
                csr: key.csr.clone(),
            })
            .collect();
        let results = client::batch_new_x509_svids(channel, params).await?;
        let mut keys: std::collections::HashMap<String, NewKey> = pending.into_iter().collect();
        for result in results {
            let Some(slot) = self.entries.get_mut(&result.entry_id) else {
                continue;
            };
            let Some(key) = keys.remove(&result.entry_id) else {
                continue;
            };
            if result.code != 0 {
                tracing::warn!(entry_id = %result.entry_id, code = result.code, message = %result.message, "X509-SVID not issued");
                continue;
            }
            let Some(svid) = result.svid else {
                tracing::warn!(entry_id = %result.entry_id, "X509-SVID result without an SVID");
                continue;
            };
            let checked = SvidWithKey::from_parts(
                svid.cert_chain,
                key.private_key_pkcs8,
                Some(&key.public_key_spki),
            )
            .and_then(|s| {
                verify_svid_chain(&s.cert_chain, &bundle, &slot.entry.spiffe_id, now).map(|()| s)
            });
            match checked {
                Ok(svid) => {
                    tracing::info!("issued X509-SVID for {}", svid.spiffe_id);
                    if let Some(reason) = reasons.get(&result.entry_id) {
                        self.metrics.rotated(*reason);
                    }
                    slot.svid = Some((Arc::new(svid), slot.entry.revision));
                }
                Err(e) => {
                    tracing::warn!(entry_id = %result.entry_id, error = %e, "refusing an X509-SVID from the server");
                }
            }
        }
        for id in keys.keys() {
            tracing::warn!(entry_id = %id, "the server returned no result for this entry");
        }
        Ok(())
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
