//! [`Catalog`]: every SDS secret one caller may get from one state, by resource name.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::core::v3::{DataSource, TypedExtensionConfig, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret, SpiffeCertValidatorConfig, TlsCertificate, secret,
    spiffe_cert_validator_config,
};
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};
use tessera_proto::identity::TrustDomain;
use tessera_proto::jwt_svid::bundle_trust_domain;
use tessera_proto::wire::tessera::types::v1::Bundle;
use zeroize::{Zeroize, Zeroizing};

use super::super::identity::CallerIdentity;
use super::super::responses::bundles;
use super::error::SdsError;
use crate::config::SdsSection;
use crate::manager::AgentState;

/// The name of Envoy's SPIFFE certificate validator extension.
pub const SPIFFE_VALIDATOR: &str = "envoy.tls.cert_validator.spiffe";

/// How many refused names an error lists.
const LISTED: usize = 8;

/// The secrets of one caller in one state. Private key bytes are wiped on drop and never
/// printed (`Debug` shows the names).
#[derive(Default)]
pub(super) struct Catalog {
    /// Every resource the caller may get, by name.
    by_name: BTreeMap<String, Secret>,
    /// What an empty subscription gets: bundles then SVIDs, each by its SPIFFE ID.
    implicit: Vec<String>,
}

impl Catalog {
    /// The secrets `ids` (the caller's identities in `state`, default first) entitle to.
    pub(super) fn build(
        state: &AgentState,
        ids: &[CallerIdentity<'_>],
        names: &SdsSection,
    ) -> Self {
        let mut catalog = Self::default();
        let trusted: Vec<(TrustDomain, &Bundle)> = bundles(state, ids).collect();
        let plain = names.disable_spiffe_cert_validation;
        let own = bundle_trust_domain(&state.bundle);
        for (td, bundle) in &trusted {
            let one = [(td.clone(), *bundle)];
            let context = validation_context(&one, plain);
            catalog.implicit.push(td.id_string());
            catalog.insert(td.id_string(), context.clone());
            if own.as_ref() == Some(td) {
                catalog.insert(names.default_bundle_name.clone(), context);
            }
        }
        if !trusted.is_empty() {
            catalog.insert(
                names.default_all_bundles_name.clone(),
                validation_context(&trusted, plain),
            );
        }
        for (i, id) in ids.iter().enumerate() {
            let certificate = tls_certificate(id);
            if i == 0 {
                catalog.insert(names.default_svid_name.clone(), certificate.clone());
            }
            if !catalog.by_name.contains_key(&id.svid.spiffe_id) {
                catalog.implicit.push(id.svid.spiffe_id.clone());
                catalog.insert(id.svid.spiffe_id.clone(), certificate);
            }
        }
        catalog
    }

    fn insert(&mut self, name: String, kind: secret::Type) {
        let secret = Secret {
            name: name.clone(),
            r#type: Some(kind),
        };
        if let Some(mut replaced) = self.by_name.insert(name, secret) {
            scrub(&mut replaced);
        }
    }

    /// The secrets named by `names` (normalized: sorted, distinct, non-empty; empty = every
    /// SVID and bundle by its SPIFFE ID), in that order; `NotEntitled` listing what the
    /// caller may not have.
    pub(super) fn select(&self, names: &[String]) -> Result<Vec<Secret>, SdsError> {
        let names = if names.is_empty() {
            &self.implicit[..]
        } else {
            names
        };
        let refused: Vec<&String> = names
            .iter()
            .filter(|n| !self.by_name.contains_key(*n))
            .collect();
        if !refused.is_empty() {
            return Err(SdsError::NotEntitled {
                names: refused
                    .into_iter()
                    .take(LISTED)
                    .map(|n| n.chars().take(256).collect())
                    .collect(),
            });
        }
        Ok(names
            .iter()
            .filter_map(|n| self.by_name.get(n).cloned())
            .collect())
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for Catalog {
    fn drop(&mut self) {
        self.by_name.values_mut().for_each(scrub);
    }
}

/// Wipes the private key bytes of `secret` (a TLS certificate's inline key).
pub(super) fn scrub(secret: &mut Secret) {
    if let Some(secret::Type::TlsCertificate(cert)) = &mut secret.r#type
        && let Some(DataSource {
            specifier: Some(data_source::Specifier::InlineBytes(key)),
            ..
        }) = &mut cert.private_key
    {
        key.zeroize();
    }
}

/// `Any` holding `message`.
pub(super) fn to_any<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

fn inline(bytes: Vec<u8>) -> Option<DataSource> {
    Some(DataSource {
        specifier: Some(data_source::Specifier::InlineBytes(bytes)),
        ..Default::default()
    })
}

/// A TLS certificate: the chain (leaf first) and the PKCS#8 key, both PEM.
fn tls_certificate(id: &CallerIdentity<'_>) -> secret::Type {
    let chain: String = id
        .svid
        .cert_chain
        .iter()
        .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())))
        .collect();
    let block = pem::Pem::new("PRIVATE KEY", id.svid.private_key_pkcs8.to_vec());
    let key = Zeroizing::new(pem::encode(&block));
    block.into_contents().zeroize();
    secret::Type::TlsCertificate(TlsCertificate {
        certificate_chain: inline(chain.into_bytes()),
        private_key: inline(key.as_bytes().to_vec()),
        ..Default::default()
    })
}

/// The X.509 authorities of `bundle` as PEM (tainted ones included: still trusted).
fn bundle_pem(bundle: &Bundle) -> Vec<u8> {
    bundle
        .x509_authorities
        .iter()
        .map(|a| pem::encode(&pem::Pem::new("CERTIFICATE", a.asn1.clone())))
        .collect::<String>()
        .into_bytes()
}

/// A validation context trusting `bundles`: Envoy's SPIFFE validator with one trust bundle
/// per trust domain, or (`plain`) every authority as `trusted_ca`.
fn validation_context(bundles: &[(TrustDomain, &Bundle)], plain: bool) -> secret::Type {
    let context = if plain {
        CertificateValidationContext {
            trusted_ca: inline(bundles.iter().flat_map(|(_, b)| bundle_pem(b)).collect()),
            ..Default::default()
        }
    } else {
        let mut trust_domains: Vec<_> = bundles
            .iter()
            .map(|(td, b)| spiffe_cert_validator_config::TrustDomain {
                name: td.as_str().to_owned(),
                trust_bundle: inline(bundle_pem(b)),
                ..Default::default()
            })
            .collect();
        trust_domains.sort_by(|a, b| a.name.cmp(&b.name));
        let config = SpiffeCertValidatorConfig {
            trust_domains,
            ..Default::default()
        };
        CertificateValidationContext {
            custom_validator_config: Some(TypedExtensionConfig {
                name: SPIFFE_VALIDATOR.into(),
                typed_config: Some(to_any(&config)),
            }),
            ..Default::default()
        }
    };
    secret::Type::ValidationContext(context)
}
