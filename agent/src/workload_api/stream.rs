//! One task per open stream. Each owns a clone of the manager's `watch` receiver (one shared
//! publisher, no polling) and a small bounded channel to its client: a client that stops
//! reading only stalls its own task, never the publisher or another stream.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use tessera_proto::identity::Selector;

use super::api::{Inner, StateRx};
use super::conn::WorkloadConnInfo;
use super::error::RpcError;
use super::identity::CallerIdentity;
use super::ports::{CallerSelectors, JwtMinter};
use super::responses::Scrub;
use crate::attestor::workload::Caller;
use crate::manager::AgentState;
use crate::metrics::StreamGuard;

/// Messages buffered per stream before its task waits for the client.
const STREAM_BUFFER: usize = 2;

/// Renders a stream message from a state and the caller's identities.
pub(super) type Render<R> = fn(&AgentState, &[CallerIdentity<'_>]) -> R;

/// The last message sent, kept to compare with the next; key bytes wiped on drop.
struct Sent<R: Scrub>(R);

impl<R: Scrub> Drop for Sent<R> {
    fn drop(&mut self) {
        self.0.scrub();
    }
}

/// Opens a stream: the caller is attested once, the first message is computed now (errors
/// fail the call), then a task sends a new full message whenever the caller's view of a new
/// state changes (as SPIRE does, a stream keeps the selectors it was opened with: the
/// connection's peer credentials were fixed at connect time). Losing every identity, or the
/// pinned process going away (its PID now naming another process or none), ends the stream
/// with `PermissionDenied`.
pub(super) async fn open<A, M, R>(
    inner: &Arc<Inner<A, M>>,
    conn: &WorkloadConnInfo,
    render: Render<R>,
    guard: StreamGuard,
) -> Result<ReceiverStream<Result<R, Status>>, Status>
where
    A: CallerSelectors,
    M: JwtMinter,
    R: PartialEq + Clone + Scrub + Send + 'static,
{
    if inner.stop.is_cancelled() {
        return Err(Status::unavailable("the agent is shutting down"));
    }
    let mut rx: StateRx = inner.state.clone();
    let state = rx.borrow_and_update().clone().ok_or(RpcError::NotSynced)?;
    let selectors = inner.attest(conn).await?;
    let caller = conn.caller.ok_or(RpcError::NoCaller)?;
    let first = inner.render_for(Some(caller), &state, &selectors, render)?;
    let (tx, out) = mpsc::channel(STREAM_BUFFER);
    // The channel is new and empty: this cannot fail for lack of room.
    if tx.try_send(Ok(first.clone())).is_err() {
        return Err(Status::internal("stream setup failed"));
    }
    let following = follow(
        Arc::clone(inner),
        caller,
        selectors,
        rx,
        tx,
        Sent(first),
        render,
    );
    tokio::spawn(async move {
        // The stream counts as open until its task ends.
        let _open = guard;
        following.await;
    });
    Ok(ReceiverStream::new(out))
}

/// Sends a new message on every change of the caller's view until the client goes away,
/// the service stops, the publisher is dropped, or the caller loses its identities.
async fn follow<A, M, R>(
    inner: Arc<Inner<A, M>>,
    caller: Caller,
    selectors: Vec<Selector>,
    mut rx: StateRx,
    tx: mpsc::Sender<Result<R, Status>>,
    mut last: Sent<R>,
    render: Render<R>,
) where
    A: CallerSelectors,
    M: JwtMinter,
    R: PartialEq + Clone + Scrub + Send + 'static,
{
    loop {
        tokio::select! {
            _ = inner.stop.cancelled() => return,
            _ = tx.closed() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
        let Some(state) = rx.borrow_and_update().clone() else {
            continue;
        };
        // The process that opened the stream must still be the one behind its PID.
        let next = match inner
            .attestor
            .still_there(caller)
            .map_err(RpcError::from)
            .and_then(|()| inner.render_for(Some(caller), &state, &selectors, render))
        {
            Ok(next) => next,
            Err(e) => {
                tracing::debug!(error = %e, "ending a Workload API stream");
                let status = e.into_status();
                tokio::select! {
                    _ = inner.stop.cancelled() => {}
                    _ = tx.send(Err(status)) => {}
                }
                return;
            }
        };
        if next == last.0 {
            continue;
        }
        tokio::select! {
            _ = inner.stop.cancelled() => return,
            sent = tx.send(Ok(next.clone())) => if sent.is_err() { return },
        }
        last = Sent(next);
    }
}
