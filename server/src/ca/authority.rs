//! Authorities (X.509 signing CAs, JWT-SVID keys, OAuth signing keys) and the journal that
//! persists them.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use tessera_proto::clock::{from_unix_seconds, unix_seconds};

use super::CaError;
use super::key::{KeyType, PrivateKey};
use super::seal::{SealedKey, Sealer};
use super::slots::{Lifetime, SlotState};
use super::snapshot::AuthorityInfo;

/// The families of authorities; each rotates on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// X.509 signing CAs.
    X509,
    /// JWT-SVID signing keys.
    Jwt,
    /// OAuth access-token signing keys: published in the OAuth JWKS, never in the SPIFFE
    /// trust bundle.
    OAuth,
}

impl Kind {
    /// Every family, in rotation order.
    pub const ALL: [Kind; 3] = [Kind::X509, Kind::Jwt, Kind::OAuth];

    /// Human name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::X509 => "X.509",
            Self::Jwt => "JWT",
            Self::OAuth => "OAuth",
        }
    }
}

pub use crate::datastore::DEFAULT_TENANT;

/// One rotating key set of a journal: a family of this replica's own authorities, or the
/// OAuth access-token keys of one tenant other than [`DEFAULT_TENANT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySet<'a> {
    /// X.509 CAs, JWT-SVID keys or the default tenant's OAuth keys.
    Kind(Kind),
    /// The OAuth keys of this tenant (never `default`: that is `Kind(Kind::OAuth)`).
    Tenant(&'a str),
}

impl<'a> KeySet<'a> {
    /// The OAuth key set of `tenant`: the journal's `oauth` slots for `default`.
    pub fn oauth(tenant: &'a str) -> Self {
        if tenant == DEFAULT_TENANT {
            Self::Kind(Kind::OAuth)
        } else {
            Self::Tenant(tenant)
        }
    }

    /// The family its authorities belong to (a tenant's keys are OAuth keys).
    pub fn kind(self) -> Kind {
        match self {
            Self::Kind(kind) => kind,
            Self::Tenant(_) => Kind::OAuth,
        }
    }

    /// Human name for messages and logs.
    pub fn label(self) -> String {
        match self {
            Self::Kind(kind) => kind.label().to_string(),
            Self::Tenant(t) => format!("OAuth (tenant {t})"),
        }
    }
}

impl From<Kind> for KeySet<'_> {
    fn from(kind: Kind) -> Self {
        Self::Kind(kind)
    }
}

/// One authority: its key, its window and its place in the rotation.
#[derive(Debug, Clone)]
pub struct Authority {
    /// X.509: hex subject key identifier; JWT and OAuth: the key ID.
    pub id: String,
    /// Rotation slot.
    pub state: SlotState,
    /// The private key.
    pub key: Arc<PrivateKey>,
    /// The key sealed for storage.
    pub sealed: SealedKey,
    /// Validity window.
    pub lifetime: Lifetime,
    /// Marked by an operator: everything it signed must be re-issued.
    pub tainted: bool,
    /// X.509 only: the CA certificate (DER).
    pub certificate: Option<Vec<u8>>,
    /// X.509 only: the upstream authority that signed it, if any.
    pub upstream_authority_id: Option<String>,
}

/// A new random JWT key ID.
pub fn new_key_id() -> Result<String, CaError> {
    let mut raw = [0u8; 24];
    aws_lc_rs::rand::fill(&mut raw)
        .map_err(|_| CaError::Crypto("random generation failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// All of a server's authorities.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// X.509 CAs.
    pub x509: Vec<Authority>,
    /// JWT-SVID keys.
    pub jwt: Vec<Authority>,
    /// OAuth access-token signing keys (of the default tenant).
    pub oauth: Vec<Authority>,
    /// OAuth access-token signing keys of every other tenant, by tenant ID.
    pub tenant_oauth: BTreeMap<String, Vec<Authority>>,
}

impl Journal {
    /// The authorities of one kind.
    pub fn of(&self, kind: Kind) -> &Vec<Authority> {
        match kind {
            Kind::X509 => &self.x509,
            Kind::Jwt => &self.jwt,
            Kind::OAuth => &self.oauth,
        }
    }

    /// The authorities of one kind, mutably.
    pub fn of_mut(&mut self, kind: Kind) -> &mut Vec<Authority> {
        match kind {
            Kind::X509 => &mut self.x509,
            Kind::Jwt => &mut self.jwt,
            Kind::OAuth => &mut self.oauth,
        }
    }

    /// The authority of `kind` in `state` (PREPARED or ACTIVE are unique).
    pub fn in_state(&self, kind: Kind, state: SlotState) -> Option<&Authority> {
        self.of(kind).iter().find(|a| a.state == state)
    }

    /// The authorities of one key set (none for a tenant without keys).
    pub fn set(&self, set: KeySet<'_>) -> &[Authority] {
        match set {
            KeySet::Kind(kind) => self.of(kind),
            KeySet::Tenant(t) => self.tenant_oauth.get(t).map_or(&[], Vec::as_slice),
        }
    }

    /// The authorities of one key set, mutably (a tenant's list is created if absent).
    pub fn set_mut(&mut self, set: KeySet<'_>) -> &mut Vec<Authority> {
        match set {
            KeySet::Kind(kind) => self.of_mut(kind),
            KeySet::Tenant(t) => self.tenant_oauth.entry(t.to_string()).or_default(),
        }
    }

    /// Every list of authorities, tenants' included.
    pub fn all(&self) -> impl Iterator<Item = &Vec<Authority>> {
        [&self.x509, &self.jwt, &self.oauth]
            .into_iter()
            .chain(self.tenant_oauth.values())
    }

    /// Every list of authorities, tenants' included (for expiry pruning).
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Vec<Authority>> {
        [&mut self.x509, &mut self.jwt, &mut self.oauth]
            .into_iter()
            .chain(self.tenant_oauth.values_mut())
    }

    /// Serializes the journal (keys stay sealed).
    pub fn encode(&self) -> Result<Vec<u8>, CaError> {
        let stored = StoredJournal {
            version: 1,
            x509: self.x509.iter().map(StoredAuthority::from).collect(),
            jwt: self.jwt.iter().map(StoredAuthority::from).collect(),
            oauth: self.oauth.iter().map(StoredAuthority::from).collect(),
            oauth_published: super::oauth_published::published(&self.oauth),
            tenant_oauth: self
                .tenant_oauth
                .iter()
                .map(|(t, list)| (t.clone(), list.iter().map(StoredAuthority::from).collect()))
                .collect(),
            tenant_oauth_published: super::oauth_published::published_tenants(self),
        };
        serde_json::to_vec(&stored).map_err(|e| CaError::Journal(e.to_string()))
    }

    /// Deserializes a journal and unseals its keys.
    pub fn decode(data: &[u8], sealer: &Sealer) -> Result<Self, CaError> {
        let stored: StoredJournal = serde_json::from_slice(data)
            .map_err(|e| CaError::Journal(format!("does not decode: {e}")))?;
        if stored.version != 1 {
            return Err(CaError::Journal(format!(
                "unsupported version {}",
                stored.version
            )));
        }
        let load = |list: Vec<StoredAuthority>| -> Result<Vec<Authority>, CaError> {
            list.into_iter().map(|a| a.into_authority(sealer)).collect()
        };
        let tenant_oauth = stored
            .tenant_oauth
            .into_iter()
            .map(|(t, list)| Ok((t, load(list)?)))
            .collect::<Result<_, CaError>>()?;
        Ok(Self {
            x509: load(stored.x509)?,
            jwt: load(stored.jwt)?,
            oauth: load(stored.oauth)?,
            tenant_oauth,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct StoredJournal {
    version: u32,
    x509: Vec<StoredAuthority>,
    jwt: Vec<StoredAuthority>,
    /// Absent in journals written before OAuth keys existed.
    #[serde(default)]
    oauth: Vec<StoredAuthority>,
    /// The public half of the OAuth keys, read by the other replicas without unsealing
    /// anything; absent in journals written before OAuth keys were shared.
    #[serde(default)]
    oauth_published: Vec<super::oauth_published::PublishedOAuthKey>,
    /// The OAuth keys of tenants other than `default`, sealed like the others; absent in
    /// journals written before tenants (and left out while there are none, so such a
    /// journal encodes byte for byte as before).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tenant_oauth: BTreeMap<String, Vec<StoredAuthority>>,
    /// Their public halves, read by the other replicas without unsealing anything.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tenant_oauth_published: BTreeMap<String, Vec<super::oauth_published::PublishedOAuthKey>>,
}

#[derive(Serialize, Deserialize)]
struct StoredAuthority {
    id: String,
    state: SlotState,
    key_type: KeyType,
    not_before: i64,
    not_after: i64,
    tainted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    sealed_key: SealedKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upstream_authority_id: Option<String>,
}

impl From<&Authority> for StoredAuthority {
    fn from(a: &Authority) -> Self {
        Self {
            id: a.id.clone(),
            state: a.state,
            key_type: a.key.key_type(),
            not_before: unix_seconds(a.lifetime.not_before),
            not_after: unix_seconds(a.lifetime.not_after),
            tainted: a.tainted,
            certificate: a.certificate.as_ref().map(|c| STANDARD.encode(c)),
            sealed_key: a.sealed.clone(),
            upstream_authority_id: a.upstream_authority_id.clone(),
        }
    }
}

impl StoredAuthority {
    fn into_authority(self, sealer: &Sealer) -> Result<Authority, CaError> {
        let pkcs8 = sealer.unseal(&self.sealed_key, &self.id)?;
        let key = PrivateKey::from_pkcs8(self.key_type, pkcs8)?;
        let certificate = self
            .certificate
            .map(|c| STANDARD.decode(c))
            .transpose()
            .map_err(|_| {
                CaError::Journal(format!("authority {}: certificate is not base64", self.id))
            })?;
        Ok(Authority {
            id: self.id,
            state: self.state,
            key: Arc::new(key),
            sealed: self.sealed_key,
            lifetime: Lifetime {
                not_before: from_unix_seconds(self.not_before),
                not_after: from_unix_seconds(self.not_after),
            },
            tainted: self.tainted,
            certificate,
            upstream_authority_id: self.upstream_authority_id,
        })
    }
}

/// PREPARED → ACTIVE, ACTIVE → OLD.
pub fn promote<'a>(journal: &mut Journal, set: impl Into<KeySet<'a>>) {
    let set = set.into();
    promote_list(journal.set_mut(set), &set.label());
}

/// PREPARED → ACTIVE, ACTIVE → OLD in one list of authorities (`what` names it in logs).
pub fn promote_list(list: &mut [Authority], what: &str) {
    for a in list.iter_mut() {
        a.state = match a.state {
            SlotState::Active => SlotState::Old,
            SlotState::Prepared => SlotState::Active,
            SlotState::Old => SlotState::Old,
        };
    }
    if let Some(a) = list.iter().find(|a| a.state == SlotState::Active) {
        tracing::info!(kind = what, id = %a.id, "activated authority");
    }
}

pub fn find<'a>(journal: &'a Journal, set: KeySet<'_>, id: &str) -> Result<&'a Authority, CaError> {
    journal
        .set(set)
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| CaError::NotFound {
            kind: set.kind().label(),
            id: id.to_string(),
        })
}

pub fn find_mut<'a>(
    journal: &'a mut Journal,
    set: KeySet<'_>,
    id: &str,
) -> Result<&'a mut Authority, CaError> {
    journal
        .set_mut(set)
        .iter_mut()
        .find(|a| a.id == id)
        .ok_or_else(|| CaError::NotFound {
            kind: set.kind().label(),
            id: id.to_string(),
        })
}

pub fn info(kind: Kind, a: &Authority) -> AuthorityInfo {
    AuthorityInfo {
        kind,
        id: a.id.clone(),
        state: a.state,
        key_type: a.key.key_type(),
        lifetime: a.lifetime,
        tainted: a.tainted,
        certificate: a.certificate.clone(),
        upstream_authority_id: a.upstream_authority_id.clone(),
    }
}
