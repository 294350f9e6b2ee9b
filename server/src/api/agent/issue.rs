//! `BatchNewX509Svid`'s CPU work — CSR verification and signing — spread over the cores on
//! tokio's blocking pool, in chunks, so one agent's batch does not keep one core busy while
//! the others idle, and the runtime's workers stay free for I/O.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::unix_seconds;
use tessera_proto::identity::SpiffeId;
use tessera_proto::parallel::map_blocking;
use tessera_proto::wire::tessera::agent::v1::{NewX509SvidParams, X509SvidResult};
use tessera_proto::wire::tessera::types::v1::{Entry, X509Svid};
use tonic::{Code, Status};

use super::csr;
use crate::api::ca_status;
use crate::ca::{CaSnapshot, IssuedX509Svid, X509SvidRequest};
use crate::metrics::{SvidKind, SvidMetrics};

/// What every chunk of one batch shares.
pub(super) struct BatchContext {
    pub(super) snapshot: Arc<CaSnapshot>,
    /// The entries authorized for the calling agent, sorted by ID.
    pub(super) authorized: Arc<Vec<Entry>>,
    pub(super) metrics: SvidMetrics,
    pub(super) now: SystemTime,
}

/// One result per param, in order: each CSR verified and signed on the blocking pool.
pub(super) async fn issue_batch(
    context: BatchContext,
    params: Vec<NewX509SvidParams>,
) -> Result<Vec<X509SvidResult>, Status> {
    let context = Arc::new(context);
    map_blocking(params, move |p| {
        let issued = issue_one(&context, &p);
        result(&p, issued)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "an X.509-SVID signing worker failed");
        Status::internal("signing failed")
    })
}

fn issue_one(context: &BatchContext, p: &NewX509SvidParams) -> Result<X509Svid, Status> {
    let entry = context
        .authorized
        .binary_search_by(|e| e.id.as_str().cmp(&p.entry_id))
        .ok()
        .and_then(|i| context.authorized.get(i));
    let entry = entry.ok_or_else(|| {
        Status::permission_denied(format!(
            "entry {:?} is not authorized for this agent",
            p.entry_id
        ))
    })?;
    let id: SpiffeId = entry
        .spiffe_id
        .parse()
        .map_err(|_| Status::internal("stored entry ID does not parse"))?;
    let public_key = csr::public_key(&p.csr)?;
    let svid = context
        .metrics
        .time(SvidKind::X509, || {
            context.snapshot.sign_x509_svid(
                context.now,
                &X509SvidRequest {
                    spiffe_id: id.clone(),
                    public_key,
                    dns_names: entry.dns_names.clone(),
                    ip_addresses: Vec::new(),
                    ttl: ttl(entry.x509_svid_ttl),
                },
            )
        })
        .map_err(ca_status)?;
    Ok(wire_svid(&id, svid))
}

fn result(p: &NewX509SvidParams, issued: Result<X509Svid, Status>) -> X509SvidResult {
    match issued {
        Ok(svid) => X509SvidResult {
            entry_id: p.entry_id.clone(),
            svid: Some(svid),
            code: Code::Ok as i32,
            message: String::new(),
        },
        Err(status) => X509SvidResult {
            entry_id: p.entry_id.clone(),
            svid: None,
            code: status.code() as i32,
            message: status.message().to_string(),
        },
    }
}

pub(super) fn wire_svid(id: &SpiffeId, svid: IssuedX509Svid) -> X509Svid {
    X509Svid {
        spiffe_id: id.to_string(),
        cert_chain: svid.chain,
        expires_at: unix_seconds(svid.expires_at),
    }
}

pub(super) fn ttl(seconds: i32) -> Option<Duration> {
    u64::try_from(seconds)
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
}
