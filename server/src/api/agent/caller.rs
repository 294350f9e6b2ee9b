//! Who is calling: the agent behind the mTLS client certificate.

use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::AttestedAgent;
use tonic::{Request, Status};
use x509_parser::prelude::*;

use crate::api::datastore_status;
use crate::datastore::AgentStore;

/// The agent ID prefix every agent SVID carries.
pub const AGENT_PATH_PREFIX: &str = "/tessera/agent/";

/// The SPIFFE ID and serial (hex) of a certificate's single URI SAN
/// ([`tessera_proto::x509_san::svid_spiffe_id`]).
pub fn svid_identity(der: &[u8]) -> Option<(SpiffeId, String)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let id = tessera_proto::x509_san::svid_spiffe_id(&cert).ok()?;
    Some((id, hex::encode(cert.raw_serial())))
}

/// The calling agent: its certificate chained to the bundle (checked by TLS), it is
/// known, not banned, and the certificate is its current (or just-renewed-from) SVID.
pub async fn authenticate<T, S: AgentStore>(
    request: &Request<T>,
    store: &S,
    trust_domain: &TrustDomain,
) -> Result<AttestedAgent, Status> {
    let certs = request.peer_certs().ok_or_else(|| {
        Status::unauthenticated("an agent X.509-SVID client certificate is required")
    })?;
    let leaf = certs.first().ok_or_else(|| {
        Status::unauthenticated("an agent X.509-SVID client certificate is required")
    })?;
    let (id, serial) = svid_identity(leaf)
        .ok_or_else(|| Status::unauthenticated("the client certificate is not an X.509-SVID"))?;
    if !id.is_member_of(trust_domain) || !id.path().starts_with(AGENT_PATH_PREFIX) {
        return Err(Status::permission_denied(format!(
            "{id} is not an agent of {trust_domain}"
        )));
    }
    let agent = store
        .get_agent(id.as_str())
        .await
        .map_err(datastore_status)?
        .ok_or_else(|| {
            Status::permission_denied(format!("{id} is not an attested agent: attest again"))
        })?;
    if agent.banned {
        return Err(Status::permission_denied(format!("agent {id} is banned")));
    }
    if serial != agent.x509_svid_serial && serial != agent.previous_x509_svid_serial {
        return Err(Status::permission_denied(format!(
            "the presented SVID is not agent {id}'s current one"
        )));
    }
    Ok(agent)
}
