//! What the CA publishes after every checked change: the signers and the bundle.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{Issuer, KeyPair};
use tessera_proto::bundle::{BundleDocument, JwtAuthority as DocJwtAuthority, PublicJwk};
use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::Bundle;

use super::CaError;
use super::authority::Kind;
use super::key::{KeyType, PrivateKey};
use super::oauth::OAuthKeys;
use super::slots::{Lifetime, SlotState};
use super::x509::{SpkiKey, x509_svid};

/// How far an SVID's `notBefore` is backdated to absorb clock skew.
const BACKDATE: Duration = Duration::from_secs(10);

/// A public view of one authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityInfo {
    /// X.509, JWT or OAuth.
    pub kind: Kind,
    /// SKI (hex) or key ID.
    pub id: String,
    /// Rotation slot.
    pub state: SlotState,
    /// Key type.
    pub key_type: KeyType,
    /// Validity window.
    pub lifetime: Lifetime,
    /// Marked tainted.
    pub tainted: bool,
    /// X.509: the CA certificate.
    pub certificate: Option<Vec<u8>>,
    /// X.509: the upstream authority that signed it.
    pub upstream_authority_id: Option<String>,
}

/// The active X.509 CA, ready to sign.
pub(super) struct X509Signer {
    pub(super) issuer: Issuer<'static, KeyPair>,
    /// Certificates after the leaf: the CA itself when it is an intermediate, and the
    /// upstream chain up to (excluding) the roots.
    pub(super) chain: Vec<Vec<u8>>,
    pub(super) lifetime: Lifetime,
}

/// The active JWT-SVID or OAuth key, ready to sign.
pub(super) struct JwtSigner {
    pub(super) kid: String,
    pub(super) key: Arc<PrivateKey>,
    pub(super) lifetime: Lifetime,
}

/// Default SVID lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SvidTtls {
    /// X.509-SVID TTL.
    pub x509: Duration,
    /// JWT-SVID TTL.
    pub jwt: Duration,
}

/// The CA's published state: immutable, shared as `Arc`, replaced on every change.
pub struct CaSnapshot {
    pub(super) trust_domain: TrustDomain,
    pub(super) bundle: Bundle,
    pub(super) authorities: Vec<AuthorityInfo>,
    pub(super) x509: Option<X509Signer>,
    pub(super) jwt: Option<JwtSigner>,
    pub(super) oauth: OAuthKeys,
    /// The OAuth keys of every tenant other than `default` this CA holds keys for.
    pub(super) tenant_oauth: BTreeMap<String, OAuthKeys>,
    /// This replica's authorities of those tenants (not in `authorities`).
    pub(super) tenant_authorities: BTreeMap<String, Vec<AuthorityInfo>>,
    pub(super) ttls: SvidTtls,
}

impl std::fmt::Debug for CaSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaSnapshot")
            .field("trust_domain", &self.trust_domain)
            .field("bundle_sequence", &self.bundle.sequence)
            .field("authorities", &self.authorities.len())
            .finish_non_exhaustive()
    }
}

/// A request for an X.509-SVID.
#[derive(Debug, Clone)]
pub struct X509SvidRequest {
    /// The identity; must be in the trust domain and have a path.
    pub spiffe_id: SpiffeId,
    /// DER SubjectPublicKeyInfo of the requester's key.
    pub public_key: Vec<u8>,
    /// Extra DNS SANs; the first one becomes the CN.
    pub dns_names: Vec<String>,
    /// IP address SANs (e.g. a server reached by address rather than by name).
    pub ip_addresses: Vec<std::net::IpAddr>,
    /// Requested TTL; `None` for the default. Capped to the CA's remaining life.
    pub ttl: Option<Duration>,
}

/// An issued X.509-SVID.
#[derive(Debug, Clone)]
pub struct IssuedX509Svid {
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// `notAfter` of the leaf.
    pub expires_at: SystemTime,
}

/// An issued JWT-SVID.
#[derive(Clone)]
pub struct IssuedJwtSvid {
    /// JWS compact serialization.
    pub token: String,
    /// `iat`.
    pub issued_at: SystemTime,
    /// `exp`.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for IssuedJwtSvid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedJwtSvid")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The registration rules ([`tessera_proto::dns_name`]): `*` only as the whole leftmost
/// label, above at least two labels.
fn check_dns_name(name: &str) -> Result<(), CaError> {
    tessera_proto::dns_name::normalize_dns_name(name)
        .map(|_| ())
        .map_err(|reason| {
            CaError::InvalidRequest(format!("{name:?} is not a valid DNS name: {reason}"))
        })
}

impl CaSnapshot {
    /// The trust domain.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The trust bundle as stored (with taint marks and sequence).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// Every authority of this server.
    pub fn authorities(&self) -> &[AuthorityInfo] {
        &self.authorities
    }

    /// The X.509 trust anchors (DER).
    pub fn x509_authorities(&self) -> Vec<Vec<u8>> {
        self.bundle
            .x509_authorities
            .iter()
            .map(|a| a.asn1.clone())
            .collect()
    }

    /// The SPIFFE bundle document of the trust bundle.
    pub fn spiffe_document(&self) -> Result<BundleDocument, CaError> {
        let jwt_authorities = self
            .bundle
            .jwt_authorities
            .iter()
            .map(|a| {
                Ok(DocJwtAuthority {
                    kid: a.key_id.clone(),
                    key: PublicJwk::from_spki_der(&a.public_key)
                        .map_err(|e| CaError::Crypto(format!("JWT key {}: {e}", a.key_id)))?,
                })
            })
            .collect::<Result<Vec<_>, CaError>>()?;
        Ok(BundleDocument {
            trust_domain: self.trust_domain.clone(),
            sequence: Some(self.bundle.sequence),
            refresh_hint: u64::try_from(self.bundle.refresh_hint_seconds).ok(),
            x509_authorities: self.x509_authorities(),
            jwt_authorities,
        })
    }

    /// Signs an X.509-SVID with the active X.509 CA.
    pub fn sign_x509_svid(
        &self,
        now: SystemTime,
        req: &X509SvidRequest,
    ) -> Result<IssuedX509Svid, CaError> {
        let signer = self.x509.as_ref().ok_or(CaError::NotReady("X.509"))?;
        self.check_leaf_id(&req.spiffe_id)?;
        for name in &req.dns_names {
            check_dns_name(name)?;
        }
        let (not_before, not_after) = self.window(
            now,
            req.ttl.unwrap_or(self.ttls.x509),
            signer.lifetime,
            "X.509",
        )?;
        let key = SpkiKey::from_der(&req.public_key)?;
        let leaf = x509_svid(
            &req.spiffe_id,
            &key,
            &req.dns_names,
            &req.ip_addresses,
            &signer.issuer,
            not_before,
            not_after,
        )?;
        let mut chain = Vec::with_capacity(1 + signer.chain.len());
        chain.push(leaf);
        chain.extend(signer.chain.iter().cloned());
        Ok(IssuedX509Svid {
            chain,
            expires_at: not_after,
        })
    }

    /// Signs a JWT-SVID with the active JWT key.
    pub fn sign_jwt_svid(
        &self,
        now: SystemTime,
        spiffe_id: &SpiffeId,
        audience: &[String],
        ttl: Option<Duration>,
    ) -> Result<IssuedJwtSvid, CaError> {
        let signer = self.jwt.as_ref().ok_or(CaError::NotReady("JWT"))?;
        self.check_leaf_id(spiffe_id)?;
        let (_, expires_at) =
            self.window(now, ttl.unwrap_or(self.ttls.jwt), signer.lifetime, "JWT")?;
        let issued_at = now;
        let token = super::jwt::sign_jwt_svid(
            &signer.key,
            &signer.kid,
            spiffe_id,
            audience,
            issued_at,
            expires_at,
        )?;
        Ok(IssuedJwtSvid {
            token,
            issued_at,
            expires_at,
        })
    }

    fn check_leaf_id(&self, id: &SpiffeId) -> Result<(), CaError> {
        if !id.is_member_of(&self.trust_domain) {
            return Err(CaError::InvalidRequest(format!(
                "{id} is not in trust domain {}",
                self.trust_domain
            )));
        }
        if id.path().is_empty() {
            return Err(CaError::InvalidRequest(format!(
                "{id} is the trust domain's own ID; an SVID needs a path"
            )));
        }
        Ok(())
    }

    fn window(
        &self,
        now: SystemTime,
        ttl: Duration,
        ca: Lifetime,
        kind: &'static str,
    ) -> Result<(SystemTime, SystemTime), CaError> {
        if ttl.is_zero() {
            return Err(CaError::InvalidRequest("TTL must be positive".into()));
        }
        let not_after = (now + ttl).min(ca.not_after);
        if not_after <= now {
            return Err(CaError::NotReady(kind));
        }
        let not_before = now.checked_sub(BACKDATE).unwrap_or(now).max(ca.not_before);
        Ok((not_before, not_after))
    }
}
