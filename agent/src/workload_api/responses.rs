//! The stream messages, computed from a state snapshot and the caller's identities. Each is
//! the full state for that caller, so a new message is due exactly when it differs from the
//! last one sent.

use std::collections::{BTreeSet, HashMap};

use tessera_proto::bundle::{BundleDocument, JwtAuthority, PublicJwk};
use tessera_proto::identity::TrustDomain;
use tessera_proto::jwt_svid::bundle_trust_domain;
use tessera_proto::wire::tessera::types::v1::Bundle;
use tessera_proto::wire::workload::{
    JwtBundlesResponse, X509BundlesResponse, X509svid, X509svidResponse,
};
use zeroize::Zeroize;

use super::identity::CallerIdentity;
use crate::manager::AgentState;

/// `FetchX509SVID`: every identity (chain leaf first, PKCS#8 key, own trust domain's X.509
/// authorities, hint) and the federated bundles the identities' entries federate with.
pub fn x509_svid_response(state: &AgentState, ids: &[CallerIdentity<'_>]) -> X509svidResponse {
    let bundle = x509_der(&state.bundle);
    X509svidResponse {
        svids: ids
            .iter()
            .map(|id| X509svid {
                spiffe_id: id.svid.spiffe_id.clone(),
                x509_svid: id.svid.cert_chain.concat(),
                x509_svid_key: id.svid.private_key_pkcs8.to_vec(),
                bundle: bundle.clone(),
                hint: id.entry.hint.clone(),
            })
            .collect(),
        crl: Vec::new(),
        federated_bundles: federated(state, ids)
            .map(|(td, b)| (td.id_string(), x509_der(b)))
            .collect(),
    }
}

/// `FetchX509Bundles`: own and federated trust domains, concatenated DER.
pub fn x509_bundles_response(
    state: &AgentState,
    ids: &[CallerIdentity<'_>],
) -> X509BundlesResponse {
    X509BundlesResponse {
        crl: Vec::new(),
        bundles: bundles(state, ids)
            .map(|(td, b)| (td.id_string(), x509_der(b)))
            .collect(),
    }
}

/// `FetchJWTBundles`: own and federated trust domains, each a JWKS of its JWT keys only (as
/// SPIRE sends them).
pub fn jwt_bundles_response(state: &AgentState, ids: &[CallerIdentity<'_>]) -> JwtBundlesResponse {
    JwtBundlesResponse {
        bundles: bundles(state, ids)
            .filter_map(|(td, b)| Some((td.id_string(), jwks(td, b)?)))
            .collect(),
    }
}

/// The JWT authorities of `bundle` as a SPIFFE bundle document (no X.509 authorities).
/// Keys that cannot be read are skipped (and logged).
pub fn jwt_document(td: TrustDomain, bundle: &Bundle) -> BundleDocument {
    let mut doc = BundleDocument::new(td);
    doc.jwt_authorities = bundle
        .jwt_authorities
        .iter()
        .filter_map(|a| match PublicJwk::from_spki_der(&a.public_key) {
            Ok(key) => Some(JwtAuthority {
                kid: a.key_id.clone(),
                key,
            }),
            Err(e) => {
                tracing::warn!(trust_domain = %bundle.trust_domain, kid = %a.key_id, error = %e, "skipping an unreadable JWT authority");
                None
            }
        })
        .collect();
    doc
}

fn jwks(td: TrustDomain, bundle: &Bundle) -> Option<Vec<u8>> {
    match jwt_document(td, bundle).to_json() {
        Ok(json) => Some(json.into_bytes()),
        Err(e) => {
            tracing::warn!(trust_domain = %bundle.trust_domain, error = %e, "cannot write the JWT bundle");
            None
        }
    }
}

/// Own bundle first, then the federated ones the caller's entries need.
pub(super) fn bundles<'a>(
    state: &'a AgentState,
    ids: &[CallerIdentity<'_>],
) -> impl Iterator<Item = (TrustDomain, &'a Bundle)> {
    bundle_trust_domain(&state.bundle)
        .map(|td| (td, &state.bundle))
        .into_iter()
        .chain(federated(state, ids))
}

/// The federated bundles named by the identities' `federates_with`, excluding our own trust
/// domain; names without a bundle in the state are left out.
fn federated<'a>(
    state: &'a AgentState,
    ids: &[CallerIdentity<'_>],
) -> impl Iterator<Item = (TrustDomain, &'a Bundle)> {
    let own = bundle_trust_domain(&state.bundle);
    let wanted: BTreeSet<TrustDomain> = ids
        .iter()
        .flat_map(|id| id.entry.federates_with.iter())
        .filter_map(|name| TrustDomain::from_id_or_name(name).ok())
        .filter(|td| Some(td) != own.as_ref())
        .collect();
    let by_td: HashMap<TrustDomain, &'a Bundle> = state
        .federated_bundles
        .iter()
        .filter_map(|b| Some((bundle_trust_domain(b)?, b)))
        .collect();
    wanted
        .into_iter()
        .filter_map(move |td| by_td.get(&td).map(|b| (td, *b)))
}

/// The X.509 authorities of `bundle`, concatenated DER (tainted ones included: they stay
/// trusted until removed).
fn x509_der(bundle: &Bundle) -> Vec<u8> {
    bundle
        .x509_authorities
        .iter()
        .flat_map(|a| a.asn1.iter().copied())
        .collect()
}

/// Messages kept after sending (to compare with the next): key material is wiped on drop.
pub trait Scrub {
    /// Overwrites private key bytes.
    fn scrub(&mut self);
}

impl Scrub for X509svidResponse {
    fn scrub(&mut self) {
        for svid in &mut self.svids {
            svid.x509_svid_key.zeroize();
        }
    }
}

impl Scrub for X509BundlesResponse {
    fn scrub(&mut self) {}
}

impl Scrub for JwtBundlesResponse {
    fn scrub(&mut self) {}
}
