//! `tessera.admin.v1.Authorities`: show, prepare, activate, taint, revoke (X.509 CAs, JWT-SVID
//! keys, OAuth access-token keys).

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
use crate::ca::{AuthorityInfo, CaManager, Kind, SlotState};
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

fn authority_id(id: &str) -> Result<&str, Status> {
    if id.is_empty() {
        Err(Status::invalid_argument("authority_id is required"))
    } else {
        Ok(id)
    }
}

fn to_wire(a: &AuthorityInfo) -> Authority {
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
    }
}

/// The answer to an authority change, audited as `event`.
fn reply(
    event: &'static str,
    result: Result<AuthorityInfo, crate::ca::CaError>,
) -> Result<Response<AuthorityResponse>, Status> {
    let info = result.map_err(ca_status)?;
    tracing::info!(
        target: "tessera::audit",
        event,
        actor = "admin_api",
        subject = %info.id,
        kind = ?info.kind,
    );
    Ok(Response::new(AuthorityResponse {
        authority: Some(to_wire(&info)),
    }))
}

#[tonic::async_trait]
impl<S: CaJournalStore + BundleStore> Authorities for AuthoritiesService<S> {
    async fn list_authorities(
        &self,
        request: Request<ListAuthoritiesRequest>,
    ) -> Result<Response<ListAuthoritiesResponse>, Status> {
        let kind = kind(request.get_ref().kind)?;
        let authorities = self
            .ca
            .snapshot()
            .authorities()
            .iter()
            .filter(|a| a.kind == kind)
            .map(to_wire)
            .collect();
        Ok(Response::new(ListAuthoritiesResponse { authorities }))
    }

    async fn prepare_authority(
        &self,
        request: Request<PrepareAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let kind = kind(request.get_ref().kind)?;
        reply("authority_prepared", self.ca.prepare(kind).await)
    }

    async fn activate_authority(
        &self,
        request: Request<ActivateAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        reply(
            "authority_activated",
            self.ca
                .activate(kind(r.kind)?, authority_id(&r.authority_id)?)
                .await,
        )
    }

    async fn taint_authority(
        &self,
        request: Request<TaintAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        reply(
            "authority_tainted",
            self.ca
                .taint(kind(r.kind)?, authority_id(&r.authority_id)?)
                .await,
        )
    }

    async fn revoke_authority(
        &self,
        request: Request<RevokeAuthorityRequest>,
    ) -> Result<Response<AuthorityResponse>, Status> {
        let r = request.get_ref();
        reply(
            "authority_revoked",
            self.ca
                .revoke(kind(r.kind)?, authority_id(&r.authority_id)?)
                .await,
        )
    }
}
