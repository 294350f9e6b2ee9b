//! `tessera.admin.v1.Authorities`: show, prepare, activate, taint, revoke (X.509 CAs, JWT-SVID
//! keys, OAuth access-token keys — of the tenant a request names, `default` if none).

use std::sync::Arc;

use tessera_proto::clock::unix_seconds;
use tessera_proto::wire::tessera::admin::v1::authorities_server::Authorities;
use tessera_proto::wire::tessera::admin::v1::{
    ActivateAuthorityRequest, Authority, AuthorityKind, AuthorityResponse, AuthorityState,
    ListAuthoritiesRequest, ListAuthoritiesResponse, PrepareAuthorityRequest,
    RevokeAuthorityRequest, TaintAuthorityRequest,
};
use tonic::{Request, Response, Status};

use crate::api::ca_status;
use crate::ca::{AuthorityInfo, CaManager, DEFAULT_TENANT, KeySet, Kind, SlotState};
use crate::datastore::{BundleStore, CaJournalStore};

/// Operator control over the CA's authorities.
#[derive(Debug)]
pub struct AuthoritiesService<S> {
    ca: Arc<CaManager<S>>,
}

impl<S> AuthoritiesService<S> {
    /// An authorities service over the CA.
    pub fn new(ca: Arc<CaManager<S>>) -> Self {
        Self { ca }
    }
}

fn kind(raw: i32) -> Result<Kind, Status> {
    match AuthorityKind::try_from(raw) {
        Ok(AuthorityKind::X509) => Ok(Kind::X509),
        Ok(AuthorityKind::Jwt) => Ok(Kind::Jwt),
        Ok(AuthorityKind::Oauth) => Ok(Kind::OAuth),
        _ => Err(Status::invalid_argument(
            "kind must be AUTHORITY_KIND_X509, AUTHORITY_KIND_JWT or AUTHORITY_KIND_OAUTH",
        )),
    }
}

/// The key set a request names: its kind, and for OAuth its tenant (empty: `default`).
fn key_set(raw_kind: i32, tenant: &str) -> Result<KeySet<'_>, Status> {
    match (kind(raw_kind)?, tenant) {
        (Kind::OAuth, "") => Ok(KeySet::oauth(DEFAULT_TENANT)),
        (Kind::OAuth, t) => Ok(KeySet::oauth(t)),
        (k, "") => Ok(KeySet::Kind(k)),
        (_, _) => Err(Status::invalid_argument(
            "tenant applies to AUTHORITY_KIND_OAUTH only",
        )),
    }
}

/// The tenant shown with an authority of `set`: OAuth keys only.
fn tenant_of(set: KeySet<'_>) -> &str {
    match set {
        KeySet::Kind(Kind::OAuth) => DEFAULT_TENANT,
        KeySet::Kind(_) => "",
        KeySet::Tenant(t) => t,
    }
}

fn authority_id(id: &str) -> Result<&str, Status> {
    if id.is_empty() {
        Err(Status::invalid_argument("authority_id is required"))
    } else {
        Ok(id)
    }
}

fn to_wire(a: &AuthorityInfo, tenant: &str) -> Authority {
    Authority {
        kind: match a.kind {
            Kind::X509 => AuthorityKind::X509,
            Kind::Jwt => AuthorityKind::Jwt,
            Kind::OAuth => AuthorityKind::Oauth,
        } as i32,
        authority_id: a.id.clone(),
        state: match a.state {
            SlotState::Prepared => AuthorityState::Prepared,
            SlotState::Active => AuthorityState::Active,
            SlotState::Old => AuthorityState::Old,
        } as i32,
        key_type: a.key_type.to_string(),
        not_before: unix_seconds(a.lifetime.not_before),
        expires_at: unix_seconds(a.lifetime.not_after),
        tainted: a.tainted,
        upstream_authority_id: a.upstream_authority_id.clone().unwrap_or_default(),
        certificate: a.certificate.clone().unwrap_or_default(),
        tenant: tenant.to_string(),
    }
}

/// The answer to an authority change, audited as `event`.
fn reply(
    event: &'static str,
    set: KeySet<'_>,
    result: Result<AuthorityInfo, crate::ca::CaError>,
) -> Result<Response<AuthorityResponse>, Status> {
    let info = result.map_err(ca_status)?;
    let tenant = tenant_of(set);
    tracing::info!(
        target: "tessera::audit",
        event,
        actor = "admin_api",
        subject = %info.id,
        kind = ?info.kind,
        tenant,
    );
    Ok(Response::new(AuthorityResponse {
        authority: Some(to_wire(&info, tenant)),
    }))
}

#[tonic::async_trait]
impl<S: CaJournalStore + BundleStore> Authorities for AuthoritiesService<S> {
    async fn list_authorities(
        &self,
        request: Request<ListAuthoritiesRequest>,
    ) -> Result<Response<ListAuthoritiesResponse>, Status> {
        let r = request.get_ref();
        let set = key_set(r.kind, &r.tenant)?;
        let snapshot = self.ca.snapshot();
        let authorities = match set {
            KeySet::Kind(Kind::OAuth) | KeySet::Tenant(_) => {
                snapshot.oauth_authorities_for(tenant_of(set))
            }
            KeySet::Kind(kind) => snapshot
                .authorities()
                .iter()
                .filter(|a| a.kind == kind)
                .cloned()
                .collect(),
        };
        let authorities = authorities
            .iter()
            .map(|a| to_wire(a, tenant_of(set)))
            .collect();
        Ok(Response::new(ListAuthoritiesResponse { authorities }))
    }

    async fn prepare_authority(
        &self,
        request: Request<PrepareAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        let set = key_set(r.kind, &r.tenant)?;
        reply("authority_prepared", set, self.ca.prepare(set).await)
    }

    async fn activate_authority(
        &self,
        request: Request<ActivateAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        let set = key_set(r.kind, &r.tenant)?;
        let id = authority_id(&r.authority_id)?;
        reply("authority_activated", set, self.ca.activate(set, id).await)
    }

    async fn taint_authority(
        &self,
        request: Request<TaintAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        let set = key_set(r.kind, &r.tenant)?;
        let id = authority_id(&r.authority_id)?;
        reply("authority_tainted", set, self.ca.taint(set, id).await)
    }

    async fn revoke_authority(
        &self,
        request: Request<RevokeAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        let set = key_set(r.kind, &r.tenant)?;
        let id = authority_id(&r.authority_id)?;
        reply("authority_revoked", set, self.ca.revoke(set, id).await)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_names_an_oauth_key_set_only() {
        let oauth = AuthorityKind::Oauth as i32;
        assert_eq!(key_set(oauth, "").unwrap(), KeySet::Kind(Kind::OAuth));
        assert_eq!(
            key_set(oauth, "default").unwrap(),
            KeySet::Kind(Kind::OAuth)
        );
        assert_eq!(key_set(oauth, "acme").unwrap(), KeySet::Tenant("acme"));
        let x509 = AuthorityKind::X509 as i32;
        assert_eq!(key_set(x509, "").unwrap(), KeySet::Kind(Kind::X509));
        let err = key_set(x509, "acme").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(tenant_of(KeySet::Tenant("acme")), "acme");
        assert_eq!(tenant_of(KeySet::Kind(Kind::OAuth)), "default");
        assert_eq!(tenant_of(KeySet::Kind(Kind::Jwt)), "");
    }
}
