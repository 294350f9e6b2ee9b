//! A [`BundleDocument`] and the wire `tessera.types.v1.Bundle` it is stored and sent as.

use crate::identity::TrustDomain;
use crate::wire::tessera::types::v1::{Bundle, JwtAuthority as WireJwt, X509Authority};

use super::document::{BundleDocument, JwtAuthority};
use super::error::BundleError;
use super::jwk::PublicJwk;

impl BundleDocument {
    /// The wire form of the document, stored with `sequence` (the store's numbering, which
    /// may differ from the document's `spiffe_sequence`). Authorities are neither tainted nor
    /// given an expiry.
    pub fn to_wire(&self, sequence: u64) -> Bundle {
        Bundle {
            trust_domain: self.trust_domain.to_string(),
            x509_authorities: self
                .x509_authorities
                .iter()
                .map(|der| X509Authority {
                    asn1: der.clone(),
                    tainted: false,
                })
                .collect(),
            jwt_authorities: self
                .jwt_authorities
                .iter()
                .map(|a| WireJwt {
                    key_id: a.kid.clone(),
                    public_key: a.key.to_spki_der(),
                    expires_at: 0,
                    tainted: false,
                })
                .collect(),
            sequence,
            refresh_hint_seconds: self
                .refresh_hint
                .and_then(|h| i64::try_from(h).ok())
                .unwrap_or(0),
        }
    }

    /// The document of a wire bundle of `trust_domain`: its sequence, its refresh hint (when
    /// positive) and its authorities. Fails on a JWT key that is not a supported SPKI.
    pub fn from_wire(trust_domain: TrustDomain, bundle: &Bundle) -> Result<Self, BundleError> {
        let jwt_authorities = bundle
            .jwt_authorities
            .iter()
            .map(|a| {
                Ok(JwtAuthority {
                    kid: a.key_id.clone(),
                    key: PublicJwk::from_spki_der(&a.public_key)?,
                })
            })
            .collect::<Result<Vec<_>, BundleError>>()?;
        Ok(Self {
            trust_domain,
            sequence: Some(bundle.sequence),
            refresh_hint: u64::try_from(bundle.refresh_hint_seconds)
                .ok()
                .filter(|h| *h > 0),
            x509_authorities: bundle
                .x509_authorities
                .iter()
                .map(|a| a.asn1.clone())
                .collect(),
            jwt_authorities,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::bundle::test_certs::*;

    #[test]
    fn wire_round_trip_keeps_authorities_and_hint() {
        let td = TrustDomain::new("b.example").unwrap();
        let mut doc = BundleDocument::new(td.clone());
        doc.sequence = Some(3);
        doc.refresh_hint = Some(60);
        doc.x509_authorities = vec![der(EC_CERT_1)];
        doc.jwt_authorities = vec![JwtAuthority {
            kid: "k".into(),
            key: PublicJwk::from_spki_der(&der(P256_SPKI)).unwrap(),
        }];
        let wire = doc.to_wire(9);
        assert_eq!(wire.sequence, 9);
        assert_eq!(wire.refresh_hint_seconds, 60);
        assert_eq!(wire.trust_domain, "b.example");
        let back = BundleDocument::from_wire(td, &wire).unwrap();
        assert_eq!(back.sequence, Some(9));
        assert_eq!(back.refresh_hint, Some(60));
        assert_eq!(back.x509_authorities, doc.x509_authorities);
        assert_eq!(back.jwt_authorities, doc.jwt_authorities);
    }

    #[test]
    fn a_bad_jwt_key_is_an_error_and_no_hint_is_none() {
        let td = TrustDomain::new("b.example").unwrap();
        let mut wire = BundleDocument::new(td.clone()).to_wire(1);
        assert_eq!(
            BundleDocument::from_wire(td.clone(), &wire)
                .unwrap()
                .refresh_hint,
            None
        );
        wire.jwt_authorities.push(WireJwt {
            key_id: "k".into(),
            public_key: b"junk".to_vec(),
            expires_at: 0,
            tainted: false,
        });
        assert!(BundleDocument::from_wire(td, &wire).is_err());
    }
}
