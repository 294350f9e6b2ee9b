//! The CA manager: owns the journal, applies rotation and operator actions, persists them
//! with the bundle, and only then publishes the new state (check, then publish).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::types::v1::{Bundle, JwtAuthority, X509Authority};
use tokio::sync::{Mutex, watch};

use super::CaError;
use super::authority::{
    Authority, Journal, KeySet, Kind, find, find_mut, info, new_key_id, promote,
};
use super::bundle::{Contribution, Revoked, reconcile};
use super::key::KeyType;
use super::oauth::OAuthKeys;
use super::oauth_published::{OAuthUnion, read_public};
use super::round::{next_event, rotate_list};
use super::seal::Sealer;
use super::slots::{Lifetime, SlotState};
use super::snapshot::{AuthorityInfo, CaSnapshot, JwtSigner, SvidTtls, X509Signer};
use super::tenant_keys::{Tenants, rotate_tenants};
use super::upstream::UpstreamAuthority;
use super::x509::{intermediate_ca, self_signed_ca, subject_key_id};
use crate::datastore::{BundleStore, BundleWrite, CaJournalStore, DatastoreError};

/// How often a lost bundle race is retried before giving up for this round.
const COMMIT_ATTEMPTS: usize = 5;

/// CA settings.
#[derive(Debug, Clone)]
pub struct CaConfig {
    /// The trust domain.
    pub trust_domain: TrustDomain,
    /// Journal key of this server replica.
    pub server_id: String,
    /// X.509 CA key type.
    pub key_type: KeyType,
    /// JWT-SVID signing key type.
    pub jwt_key_type: KeyType,
    /// OAuth access-token signing key type (a key set separate from the JWT-SVID keys).
    pub oauth_key_type: KeyType,
    /// Lifetime of each X.509 CA, JWT-SVID key and OAuth signing key.
    pub ca_ttl: Duration,
    /// Default X.509-SVID TTL.
    pub x509_svid_ttl: Duration,
    /// Default JWT-SVID TTL.
    pub jwt_svid_ttl: Duration,
    /// `spiffe_refresh_hint` of the bundle.
    pub refresh_hint: Duration,
}

struct State {
    revision: Option<u64>,
    encoded: Vec<u8>,
    journal: Journal,
}

/// The trust domain's certificate authority.
pub struct CaManager<S> {
    cfg: CaConfig,
    store: S,
    clock: Arc<dyn Clock>,
    sealer: Arc<Sealer>,
    upstream: Option<UpstreamAuthority>,
    state: Mutex<State>,
    publisher: watch::Sender<Arc<CaSnapshot>>,
    /// The tenants with OAuth keys of their own, as the owner last set them.
    tenants: watch::Sender<Tenants>,
}

impl<S> std::fmt::Debug for CaManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaManager")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    UNIX_EPOCH
        + Duration::from_secs(
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
}

impl<S: CaJournalStore + BundleStore> CaManager<S> {
    /// Loads the journal (unsealing keys with the seal key at `seal_key_file`, created only
    /// when the store has no journal yet), brings rotation up to date, persists and publishes.
    pub async fn open(
        cfg: CaConfig,
        store: S,
        clock: Arc<dyn Clock>,
        seal_key_file: &Path,
        upstream: Option<UpstreamAuthority>,
    ) -> Result<Arc<Self>, CaError> {
        let blob = store.load_journal(&cfg.server_id).await?;
        let sealer = Arc::new(Sealer::open(seal_key_file, blob.is_none())?);
        let (revision, encoded, journal) = match blob {
            Some(b) => {
                let journal = Journal::decode(&b.data, &sealer)?;
                (Some(b.revision), b.data, journal)
            }
            None => (None, Vec::new(), Journal::default()),
        };
        let empty = Arc::new(CaSnapshot {
            trust_domain: cfg.trust_domain.clone(),
            bundle: Bundle::default(),
            authorities: Vec::new(),
            x509: None,
            jwt: None,
            oauth: OAuthKeys::default(),
            tenant_oauth: Default::default(),
            tenant_authorities: Default::default(),
            ttls: SvidTtls {
                x509: cfg.x509_svid_ttl,
                jwt: cfg.jwt_svid_ttl,
            },
        });
        let (publisher, _) = watch::channel(empty);
        let manager = Arc::new(Self {
            cfg,
            store,
            clock,
            sealer,
            upstream,
            state: Mutex::new(State {
                revision,
                encoded,
                journal,
            }),
            publisher,
            tenants: watch::Sender::new(None),
        });
        manager.rotate().await?;
        Ok(manager)
    }

    /// The seal key that protects secrets at rest (CA keys; also users' TOTP secrets).
    pub fn sealer(&self) -> Arc<Sealer> {
        self.sealer.clone()
    }

    /// The current published state.
    pub fn snapshot(&self) -> Arc<CaSnapshot> {
        self.publisher.borrow().clone()
    }

    /// A receiver notified on every published change.
    pub fn subscribe(&self) -> watch::Receiver<Arc<CaSnapshot>> {
        self.publisher.subscribe()
    }

    /// The settings.
    pub fn config(&self) -> &CaConfig {
        &self.cfg
    }

    /// The clock the CA reads (API edges read `now` from it too).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Applies every rotation step due now (and expiry pruning) to every key set, the
    /// tenants' included; returns when the next one is due.
    pub async fn rotate(&self) -> Result<Option<SystemTime>, CaError> {
        self.transact(|ca, journal, now, _| {
            for kind in Kind::ALL {
                rotate_list(journal.of_mut(kind), now, kind.label(), || {
                    ca.mint(kind, now)
                })?;
            }
            let tenants = ca.tenants.borrow().clone();
            rotate_tenants(journal, &tenants, now, |kind| ca.mint(kind, now))
        })
        .await?;
        let state = self.state.lock().await;
        let now = self.clock.now();
        Ok(state
            .journal
            .all()
            .filter_map(|list| next_event(list, now))
            .min())
    }

    pub(super) fn tenants_sender(&self) -> &watch::Sender<Tenants> {
        &self.tenants
    }

    /// Mints the next authority of a key set now (PREPARED): a [`Kind`], or a tenant's
    /// OAuth keys ([`KeySet::oauth`]; the tenant must have keys already).
    pub async fn prepare<'a>(&self, set: impl Into<KeySet<'a>>) -> Result<AuthorityInfo, CaError> {
        let set = set.into();
        self.transact(|ca, journal, now, _| {
            if let KeySet::Tenant(t) = set
                && !journal.tenant_oauth.contains_key(t)
            {
                return Err(CaError::FailedPrecondition(format!(
                    "tenant {t} has no OAuth keys on this server"
                )));
            }
            let list = journal.set_mut(set);
            list.retain(|a| a.state != SlotState::Prepared);
            let fresh = ca.mint(set.kind(), now)?;
            let info = info(set.kind(), &fresh);
            list.push(fresh);
            Ok(info)
        })
        .await
    }

    /// Activates the PREPARED authority `id`; the ACTIVE one becomes OLD.
    pub async fn activate<'a>(
        &self,
        set: impl Into<KeySet<'a>>,
        id: &str,
    ) -> Result<AuthorityInfo, CaError> {
        let set = set.into();
        self.transact(|_, journal, now, _| {
            let target = find(journal, set, id)?;
            if target.state != SlotState::Prepared {
                return Err(CaError::FailedPrecondition(format!(
                    "{} authority {id} is {:?}, only the PREPARED one can be activated",
                    set.label(),
                    target.state
                )));
            }
            if target.lifetime.expired(now) {
                return Err(CaError::FailedPrecondition(format!(
                    "{} authority {id} has expired",
                    set.label()
                )));
            }
            promote(journal, set);
            find(journal, set, id).map(|a| info(set.kind(), a))
        })
        .await
    }

    /// Taints the OLD authority `id`: everything it signed must be re-issued.
    pub async fn taint<'a>(
        &self,
        set: impl Into<KeySet<'a>>,
        id: &str,
    ) -> Result<AuthorityInfo, CaError> {
        let set = set.into();
        self.transact(|_, journal, _, _| {
            let target = find(journal, set, id)?;
            if target.state != SlotState::Old {
                return Err(CaError::FailedPrecondition(format!(
                    "{} authority {id} is {:?}: only an OLD authority can be tainted; \
                     prepare and activate a new one first",
                    set.label(),
                    target.state
                )));
            }
            if target.tainted {
                return Err(CaError::FailedPrecondition(format!(
                    "{} authority {id} is already tainted",
                    set.label()
                )));
            }
            let target = find_mut(journal, set, id)?;
            target.tainted = true;
            tracing::warn!(target: "tessera::audit", kind = %set.label(), id, "authority tainted");
            Ok(info(set.kind(), target))
        })
        .await
    }

    /// Revokes the tainted authority `id`: it leaves the journal and the bundle.
    pub async fn revoke<'a>(
        &self,
        set: impl Into<KeySet<'a>>,
        id: &str,
    ) -> Result<AuthorityInfo, CaError> {
        let set = set.into();
        let kind = set.kind();
        let upstream = self.upstream.is_some();
        self.transact(|_, journal, _, revoked| {
            let target = find(journal, set, id)?;
            if !target.tainted {
                return Err(CaError::FailedPrecondition(format!(
                    "{} authority {id} is not tainted: taint it first",
                    set.label()
                )));
            }
            if kind == Kind::X509 && upstream {
                return Err(CaError::FailedPrecondition(format!(
                    "X.509 authority {id} is an intermediate under the upstream authority; the \
                     bundle holds the upstream roots, so revoke it at the upstream"
                )));
            }
            let gone = info(kind, target);
            match kind {
                Kind::X509 => revoked.x509.extend(target.certificate.clone()),
                Kind::Jwt => revoked.jwt.push(target.id.clone()),
                // Not in the SPIFFE bundle: leaving the journal drops it from the OAuth JWKS.
                Kind::OAuth => {}
            }
            journal.set_mut(set).retain(|a| a.id != id);
            tracing::warn!(target: "tessera::audit", kind = %set.label(), id, "authority revoked");
            Ok(gone)
        })
        .await
    }

    /// Runs `change` on a copy of the journal, persists the result with the reconciled
    /// bundle, and only then adopts and publishes it.
    async fn transact<T>(
        &self,
        change: impl FnOnce(&Self, &mut Journal, SystemTime, &mut Revoked) -> Result<T, CaError>,
    ) -> Result<T, CaError> {
        let mut state = self.state.lock().await;
        let now = whole_seconds(self.clock.now());
        let mut journal = state.journal.clone();
        let mut revoked = Revoked::default();
        let out = change(self, &mut journal, now, &mut revoked)?;
        for list in journal.all_mut() {
            list.retain(|a| a.state != SlotState::Old || !a.lifetime.expired(now));
        }
        let encoded = journal.encode()?;
        let contribution = self.contribution(&journal);
        let td = self.cfg.trust_domain.to_string();
        let mut attempts = 0;
        let bundle = loop {
            attempts += 1;
            let stored = self.store.get_bundle(&td).await?;
            let next = reconcile(
                stored.as_ref(),
                &self.cfg.trust_domain,
                &contribution,
                &revoked,
                now,
                self.cfg.refresh_hint,
            );
            if next.is_none() && encoded == state.encoded {
                break stored.unwrap_or_default();
            }
            let write = next.as_ref().map(|b| BundleWrite {
                bundle: b,
                expected_sequence: stored.as_ref().map(|s| s.sequence),
            });
            match self
                .store
                .commit_journal(&self.cfg.server_id, state.revision, &encoded, write)
                .await
            {
                Ok(revision) => {
                    state.revision = Some(revision);
                    state.encoded = encoded;
                    break next.or(stored).unwrap_or_default();
                }
                Err(DatastoreError::Conflict(why)) if attempts < COMMIT_ATTEMPTS => {
                    tracing::debug!(%why, "bundle changed underneath; retrying");
                }
                Err(e) => return Err(e.into()),
            }
        };
        state.journal = journal;
        let oauth_union = self.oauth_union(&state.journal, now).await?;
        let snapshot = self.build_snapshot(&state.journal, bundle, &oauth_union)?;
        self.publisher.send_if_modified(|current| {
            let changed = !current.publishes_same_as(&snapshot);
            if changed {
                *current = Arc::new(snapshot);
            }
            changed
        });
        Ok(out)
    }

    /// The OAuth keys every replica published, per tenant (this one's from `journal`, the
    /// others' from their stored journals), without the expired ones. A journal whose
    /// public part does not decode is skipped with a warning rather than failing this
    /// replica's round.
    async fn oauth_union(&self, journal: &Journal, now: SystemTime) -> Result<OAuthUnion, CaError> {
        let others = self
            .store
            .list_journals()
            .await?
            .into_iter()
            .filter(|(id, _)| *id != self.cfg.server_id)
            .filter_map(|(id, blob)| match read_public(&blob.data) {
                Ok(keys) => Some(keys),
                Err(e) => {
                    tracing::warn!(server_id = %id, error = %e, "ignoring another replica's OAuth keys");
                    None
                }
            })
            .collect();
        Ok(OAuthUnion::of(journal, others, now))
    }

    /// The SPIFFE trust bundle's share of this journal: X.509 CAs and JWT-SVID keys only;
    /// OAuth signing keys are published in the OAuth JWKS, never in the bundle.
    fn contribution(&self, journal: &Journal) -> Contribution {
        let x509 = match &self.upstream {
            Some(up) => up
                .roots()
                .iter()
                .map(|r| X509Authority {
                    asn1: r.clone(),
                    tainted: false,
                })
                .collect(),
            None => journal
                .x509
                .iter()
                .filter_map(|a| {
                    a.certificate.as_ref().map(|c| X509Authority {
                        asn1: c.clone(),
                        tainted: a.tainted,
                    })
                })
                .collect(),
        };
        let jwt = journal
            .jwt
            .iter()
            .map(|a| JwtAuthority {
                key_id: a.id.clone(),
                public_key: a.key.public_key_der(),
                expires_at: unix_seconds(a.lifetime.not_after),
                tainted: a.tainted,
            })
            .collect();
        Contribution { x509, jwt }
    }

    /// Mints a new PREPARED authority of `kind`, valid from `now` for the CA TTL.
    pub(super) fn mint(&self, kind: Kind, now: SystemTime) -> Result<Authority, CaError> {
        let mut not_after = now + self.cfg.ca_ttl;
        let key = match kind {
            Kind::X509 => self.cfg.key_type,
            Kind::Jwt => self.cfg.jwt_key_type,
            Kind::OAuth => self.cfg.oauth_key_type,
        }
        .generate()?;
        let (id, certificate, upstream_authority_id) = match kind {
            Kind::Jwt | Kind::OAuth => (new_key_id()?, None, None),
            Kind::X509 => {
                let td = &self.cfg.trust_domain;
                let (cert, up_id) = match &self.upstream {
                    Some(up) => {
                        not_after = not_after.min(up.not_after());
                        if not_after <= now {
                            return Err(CaError::Upstream(
                                "the upstream certificate has expired".into(),
                            ));
                        }
                        let issuer = up.issuer()?;
                        let cert = intermediate_ca(td, key.key_pair(), &issuer, now, not_after)?;
                        (cert, Some(up.authority_id().to_string()))
                    }
                    None => (self_signed_ca(td, key.key_pair(), now, not_after)?, None),
                };
                (subject_key_id(&cert)?, Some(cert), up_id)
            }
        };
        let sealed = self.sealer.seal(key.pkcs8(), &id)?;
        Ok(Authority {
            id,
            state: SlotState::Prepared,
            key: Arc::new(key),
            sealed,
            lifetime: Lifetime {
                not_before: now,
                not_after,
            },
            tainted: false,
            certificate,
            upstream_authority_id,
        })
    }

    fn build_snapshot(
        &self,
        journal: &Journal,
        bundle: Bundle,
        oauth_union: &OAuthUnion,
    ) -> Result<CaSnapshot, CaError> {
        let x509 = match journal.in_state(Kind::X509, SlotState::Active) {
            Some(active) => {
                let cert = active.certificate.as_ref().ok_or_else(|| {
                    CaError::Journal(format!("X.509 authority {} has no certificate", active.id))
                })?;
                let pair = active.key.clone_key_pair()?;
                let issuer = rcgen::Issuer::from_ca_cert_der(&cert.as_slice().into(), pair)
                    .map_err(|e| CaError::Crypto(format!("loading the active CA: {e}")))?;
                let mut chain = Vec::new();
                if let Some(up) = &self.upstream {
                    chain.push(cert.clone());
                    chain.extend(up.chain_to_roots());
                }
                Some(X509Signer {
                    issuer,
                    chain,
                    lifetime: active.lifetime,
                })
            }
            None => None,
        };
        let jwt = journal
            .in_state(Kind::Jwt, SlotState::Active)
            .map(|a| JwtSigner {
                kid: a.id.clone(),
                key: a.key.clone(),
                lifetime: a.lifetime,
            });
        let authorities = Kind::ALL
            .into_iter()
            .flat_map(|k| journal.of(k).iter().map(move |a| info(k, a)))
            .collect();
        Ok(CaSnapshot {
            trust_domain: self.cfg.trust_domain.clone(),
            bundle,
            authorities,
            x509,
            jwt,
            oauth: OAuthKeys::new(&journal.oauth, &oauth_union.default),
            tenant_oauth: journal
                .tenant_oauth
                .iter()
                .map(|(t, keys)| (t.clone(), OAuthKeys::new(keys, oauth_union.tenant(t))))
                .collect(),
            tenant_authorities: journal
                .tenant_oauth
                .iter()
                .map(|(t, keys)| {
                    (
                        t.clone(),
                        keys.iter().map(|a| info(Kind::OAuth, a)).collect(),
                    )
                })
                .collect(),
            ttls: SvidTtls {
                x509: self.cfg.x509_svid_ttl,
                jwt: self.cfg.jwt_svid_ttl,
            },
        })
    }
}
