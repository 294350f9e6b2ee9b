//! The agent's own identity: attest when there is no valid SVID, renew at half-life (or when
//! its authority is tainted), attest again after eviction when the attestor allows it.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::danger::ServerCertVerifier;
use tessera_proto::wire::tessera::types::v1::{Bundle, X509Svid};
use tonic::transport::Channel;

use super::rotation::{is_tainted, should_rotate};
use super::{Manager, ManagerError};
use crate::client::{self, ClientError};
use crate::tls::{self, InsecureBootstrapVerifier, SpiffeServerVerifier};
use crate::x509::{NewKey, SvidWithKey, generate_key, verify_svid_chain};

impl Manager {
    /// Makes sure a valid agent SVID is held at `now`, attesting or renewing as needed.
    pub(super) async fn ensure_identity(&mut self, now: SystemTime) -> Result<(), ManagerError> {
        let held = self.agent_svid.as_ref().filter(|s| !s.is_expired(now));
        let Some(svid) = held else {
            if self.agent_svid.take().is_some() {
                tracing::warn!("the agent SVID expired");
                self.channel = None;
            }
            if self.had_identity && !self.attestor.can_reattest() {
                return Err(ManagerError::JoinTokenSpent);
            }
            return self.attest(now).await;
        };
        if !self.had_identity {
            tracing::info!(spiffe_id = %svid.spiffe_id, "reusing the persisted agent SVID");
            self.had_identity = true;
        }
        let tainted = self
            .bundle
            .as_ref()
            .is_some_and(|b| is_tainted(&svid.cert_chain, b));
        if tainted || should_rotate(now, svid) {
            match self.renew(now, tainted).await {
                Ok(()) => {}
                Err(e) if e.is_fatal() || matches!(e, ManagerError::Evicted(_)) => return Err(e),
                // The current SVID is still valid: keep using it and retry next round.
                Err(e) => tracing::warn!(error = %e, "agent SVID renewal failed; retrying"),
            }
        }
        Ok(())
    }

    /// `Attest` over server-authenticated TLS (or, once, unverified with insecure bootstrap).
    async fn attest(&mut self, now: SystemTime) -> Result<(), ManagerError> {
        let verifier: Arc<dyn ServerCertVerifier> = match &self.bundle {
            Some(bundle) => Arc::new(SpiffeServerVerifier::new(bundle, self.server_id())),
            None if self.config.insecure_bootstrap => {
                tracing::warn!(
                    "INSECURE BOOTSTRAP: the server's certificate is NOT verified for this first attestation; never use insecure_bootstrap in production"
                );
                Arc::new(InsecureBootstrapVerifier::default())
            }
            None => return Err(ManagerError::NoTrustBundle),
        };
        let config = tls::client_config(verifier, None)?;
        let channel = tls::connect(&self.config.server_addresses, Arc::new(config)).await?;
        let key = new_key()?;
        let data = self.attestor.attestation_data()?;
        let reply = match client::attest(channel, data, key.csr.clone()).await {
            Ok(reply) => reply,
            Err(ClientError::PermissionDenied(m) | ClientError::InvalidArgument(m)) => {
                return Err(if self.attestor.can_reattest() {
                    // The credential may be refreshed (the kubelet rotates SA tokens).
                    ManagerError::Server(ClientError::Unavailable(format!(
                        "attestation refused: {m}"
                    )))
                } else {
                    ManagerError::AttestationRefused(format!(
                        "{m} (join tokens are single-use and expire: generate a new one with `tessera-server token generate`)"
                    ))
                });
            }
            Err(e) => return Err(e.into()),
        };
        let bundle = reply
            .bundle
            .ok_or_else(|| ManagerError::InvalidResponse("Attest returned no bundle".into()))?;
        self.check_bundle(&bundle)?;
        let svid = reply
            .svid
            .ok_or_else(|| ManagerError::InvalidResponse("Attest returned no SVID".into()))?;
        let svid = self.accept_agent_svid(svid, key, &bundle, now)?;
        self.store.save_bundle(&bundle)?;
        self.store.save_agent_svid(&svid)?;
        tracing::info!("attested as {}", svid.spiffe_id);
        self.bundle = Some(bundle);
        self.agent_svid = Some(svid);
        self.had_identity = true;
        self.channel = None;
        Ok(())
    }

    /// `RenewAgent`, then reconnect so new calls present the new certificate.
    async fn renew(&mut self, now: SystemTime, tainted: bool) -> Result<(), ManagerError> {
        let channel = self.mtls_channel().await?;
        let key = new_key()?;
        let svid = match client::renew_agent(channel, key.csr.clone()).await {
            Ok(svid) => svid,
            Err(ClientError::PermissionDenied(reason)) => return self.evicted(reason),
            Err(e) => return Err(e.into()),
        };
        let bundle = self.bundle.clone().ok_or(ManagerError::NoTrustBundle)?;
        let svid = self.accept_agent_svid(svid, key, &bundle, now)?;
        self.store.save_agent_svid(&svid)?;
        tracing::info!(
            spiffe_id = %svid.spiffe_id,
            tainted_authority = tainted,
            "renewed the agent SVID"
        );
        self.agent_svid = Some(svid);
        self.channel = None;
        Ok(())
    }

    /// Checks an agent SVID from the server before using it.
    fn accept_agent_svid(
        &self,
        svid: X509Svid,
        key: NewKey,
        bundle: &Bundle,
        now: SystemTime,
    ) -> Result<SvidWithKey, ManagerError> {
        let invalid =
            |e: crate::x509::X509Error| ManagerError::InvalidResponse(format!("agent SVID: {e}"));
        let held = SvidWithKey::from_parts(
            svid.cert_chain,
            key.private_key_pkcs8,
            Some(&key.public_key_spki),
        )
        .map_err(invalid)?;
        let id = held.spiffe_id.clone();
        verify_svid_chain(&held.cert_chain, bundle, &id, now).map_err(invalid)?;
        let td_prefix = format!("{}/", self.config.trust_domain.id_string());
        if !id.starts_with(&td_prefix) {
            return Err(ManagerError::InvalidResponse(format!(
                "agent SVID {id} is not in trust domain {}",
                self.config.trust_domain
            )));
        }
        Ok(held)
    }

    /// The mTLS channel for the current SVID and bundle, connecting if needed.
    pub(super) async fn mtls_channel(&mut self) -> Result<Channel, ManagerError> {
        if let Some(channel) = &self.channel {
            return Ok(channel.clone());
        }
        let bundle = self.bundle.as_ref().ok_or(ManagerError::NoTrustBundle)?;
        let verifier = Arc::new(SpiffeServerVerifier::new(bundle, self.server_id()));
        let config = tls::client_config(verifier, self.agent_svid.as_ref())?;
        let channel = tls::connect(&self.config.server_addresses, Arc::new(config)).await?;
        self.channel = Some(channel.clone());
        self.channel_tx.send_replace(Some(channel.clone()));
        Ok(channel)
    }

    /// The server refused the agent's SVID: forget it; attest again if the attestor can.
    pub(super) fn evicted(&mut self, reason: String) -> Result<(), ManagerError> {
        self.agent_svid = None;
        self.channel = None;
        self.channel_tx.send_replace(None);
        self.store.clear_agent_svid()?;
        if self.attestor.can_reattest() {
            Err(ManagerError::Evicted(reason))
        } else {
            tracing::error!(%reason, "the server refused the agent SVID");
            Err(ManagerError::JoinTokenSpent)
        }
    }
}

fn new_key() -> Result<NewKey, ManagerError> {
    generate_key().map_err(|e| ManagerError::Crypto(e.to_string()))
}
