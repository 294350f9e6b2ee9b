//! One task per `StreamSecrets` call: it feeds the stream's [`Session`] with the client's
//! requests and with the manager's new states (its own clone of the `watch` receiver), and
//! sends through a small bounded channel, so a client that stops reading stalls only itself.

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use tessera_proto::identity::Selector;

use super::super::api::{Inner, StateRx};
use super::super::conn::WorkloadConnInfo;
use super::super::error::RpcError;
use super::super::ports::{CallerSelectors, JwtMinter};
use super::catalog::Catalog;
use super::error::SdsError;
use super::session::Session;
use crate::attestor::workload::Caller;
use crate::config::SdsSection;

/// Responses buffered per stream before its task waits for the client.
const STREAM_BUFFER: usize = 2;

/// What woke the stream task.
enum Event {
    Request(Box<DiscoveryRequest>),
    Update,
}

/// Opens a stream: the caller is attested once (its peer credentials were fixed at connect
/// time) and must hold an identity now; then a task answers requests and pushes updates.
pub(super) async fn open<A, M>(
    inner: &Arc<Inner<A, M>>,
    names: &Arc<SdsSection>,
    conn: &WorkloadConnInfo,
    requests: Streaming<DiscoveryRequest>,
) -> Result<ReceiverStream<Result<DiscoveryResponse, Status>>, SdsError>
where
    A: CallerSelectors,
    M: JwtMinter,
{
    if inner.stop.is_cancelled() {
        return Err(SdsError::ShuttingDown);
    }
    let mut rx: StateRx = inner.state.clone();
    let state = rx.borrow_and_update().clone().ok_or(RpcError::NotSynced)?;
    let selectors = inner.attest(conn).await?;
    let caller = conn.caller.ok_or(RpcError::NoCaller)?;
    inner.render_for(Some(caller), &state, &selectors, |_, _| ())?;
    let (tx, out) = mpsc::channel(STREAM_BUFFER);
    let task = StreamTask {
        inner: Arc::clone(inner),
        names: Arc::clone(names),
        caller,
        selectors,
        session: Session::new(stream_tag()),
    };
    tokio::spawn(task.run(requests, rx, tx));
    Ok(ReceiverStream::new(out))
}

/// A per-stream nonce prefix: random, or 0 if the system has no randomness to give.
fn stream_tag() -> u64 {
    let mut bytes = [0u8; 8];
    match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => u64::from_be_bytes(bytes),
        Err(_) => 0,
    }
}

struct StreamTask<A, M> {
    inner: Arc<Inner<A, M>>,
    names: Arc<SdsSection>,
    caller: Caller,
    selectors: Vec<Selector>,
    session: Session,
}

impl<A: CallerSelectors, M: JwtMinter> StreamTask<A, M> {
    /// Until the client goes away, the service stops, the publisher is dropped, or an error
    /// (sent to the client) ends the stream.
    async fn run(
        mut self,
        mut requests: Streaming<DiscoveryRequest>,
        mut rx: StateRx,
        tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    ) {
        let stop = self.inner.stop.clone();
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => return,
                _ = tx.closed() => return,
                message = requests.message() => match message {
                    Ok(Some(request)) => Event::Request(Box::new(request)),
                    Ok(None) => return,
                    Err(status) => {
                        tracing::debug!(code = ?status.code(), "SDS stream ended by the client");
                        return;
                    }
                },
                changed = rx.changed() => match changed {
                    Ok(()) => Event::Update,
                    Err(_) => return,
                },
            };
            // `changed()` marked the state seen; nothing to say before the first request.
            if matches!(event, Event::Update) && !self.session.subscribed() {
                continue;
            }
            let Some(state) = rx.borrow_and_update().clone() else {
                continue;
            };
            let outcome = self.catalog(&state).and_then(|catalog| match &event {
                Event::Request(request) => self.session.on_request(request, &catalog),
                Event::Update => self.session.on_update(&catalog),
            });
            let message = match outcome {
                Ok(None) => continue,
                Ok(Some(response)) => Ok(response),
                Err(e) => {
                    tracing::debug!(error = %e, "ending an SDS stream");
                    Err(e.into_status())
                }
            };
            let last = message.is_err();
            tokio::select! {
                _ = stop.cancelled() => return,
                sent = tx.send(message) => if sent.is_err() || last { return },
            }
        }
    }

    /// What the caller may get from `state`; the pinned process must still be there and
    /// hold an identity.
    fn catalog(&self, state: &crate::manager::AgentState) -> Result<Catalog, SdsError> {
        self.inner.attestor.still_there(self.caller)?;
        let names = &self.names;
        Ok(self
            .inner
            .render_for(Some(self.caller), state, &self.selectors, |state, ids| {
                Catalog::build(state, ids, names)
            })?)
    }
}
