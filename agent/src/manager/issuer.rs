//! One round's issuance pipeline: entries that need an SVID go in as soon as they are
//! known — while `SyncEntries` pages still arrive — and leave in batches of
//! `x509_svid_batch_size` CSRs, at most [`IN_FLIGHT`] batches at once; the outcomes wait for
//! the round to keep them once its entry cache is merged.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::TrustAnchor;
use tessera_proto::wire::tessera::types::v1::Entry;
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::ManagerError;
use super::svids::{Outcome, Wanted, issue_batch};
use crate::metrics::RotationReason;

/// Batches requested at once: while the server signs one, the agent generates the keys of
/// the next and checks the answers of the previous.
pub(super) const IN_FLIGHT: usize = 4;

type BatchResult = Result<Vec<(String, Outcome)>, ManagerError>;

/// Batches the requests of one round and keeps [`IN_FLIGHT`] of them going.
pub(super) struct Issuer {
    channel: Channel,
    anchors: Arc<Vec<TrustAnchor<'static>>>,
    now: SystemTime,
    batch_size: usize,
    /// Requests not yet making a full batch.
    pending: Vec<Wanted>,
    /// Full batches waiting for a slot.
    queued: VecDeque<Vec<Wanted>>,
    in_flight: JoinSet<BatchResult>,
    /// Outcomes of the batches that finished.
    done: Vec<(String, Outcome)>,
    /// The first failure of a batch (it fails the round, as before pipelining).
    failed: Option<ManagerError>,
    /// Every entry requested this round, with the rotation metric's reason.
    requested: HashMap<String, RotationReason>,
}

impl Issuer {
    pub(super) fn new(
        channel: Channel,
        anchors: Vec<TrustAnchor<'static>>,
        now: SystemTime,
        batch_size: usize,
    ) -> Self {
        Self {
            channel,
            anchors: Arc::new(anchors),
            now,
            batch_size: batch_size.max(1),
            pending: Vec::new(),
            queued: VecDeque::new(),
            in_flight: JoinSet::new(),
            done: Vec::new(),
            failed: None,
            requested: HashMap::new(),
        }
    }

    /// True when `entry_id` was requested this round.
    pub(super) fn requested(&self, entry_id: &str) -> bool {
        self.requested.contains_key(entry_id)
    }

    /// Requests an SVID for `entry` (once per round; later calls for it are ignored).
    pub(super) fn want(&mut self, entry: &Entry, reason: RotationReason) {
        if self.requested(&entry.id) {
            return;
        }
        self.requested.insert(entry.id.clone(), reason);
        self.pending.push(Wanted {
            entry_id: entry.id.clone(),
            spiffe_id: entry.spiffe_id.clone(),
        });
        if self.pending.len() >= self.batch_size {
            self.queued.push_back(std::mem::take(&mut self.pending));
        }
        self.pump();
    }

    /// Collects finished batches and starts queued ones while there is room.
    fn pump(&mut self) {
        while let Some(finished) = self.in_flight.try_join_next() {
            self.collect(finished);
        }
        while self.in_flight.len() < IN_FLIGHT
            && let Some(batch) = self.queued.pop_front()
        {
            self.in_flight.spawn(issue_batch(
                self.channel.clone(),
                batch,
                self.anchors.clone(),
                self.now,
            ));
        }
    }

    fn collect(&mut self, finished: Result<BatchResult, tokio::task::JoinError>) {
        match finished.map_err(ManagerError::from).and_then(|r| r) {
            Ok(outcomes) => self.done.extend(outcomes),
            Err(e) => {
                self.failed.get_or_insert(e);
            }
        }
    }

    /// Sends what is left, waits for every batch, and returns each requested entry's
    /// outcome with the reasons; the first batch failure fails the whole.
    pub(super) async fn finish(
        mut self,
    ) -> Result<(Vec<(String, Outcome)>, HashMap<String, RotationReason>), ManagerError> {
        if !self.pending.is_empty() {
            self.queued.push_back(std::mem::take(&mut self.pending));
        }
        loop {
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
            self.pump();
            match self.in_flight.join_next().await {
                Some(finished) => self.collect(finished),
                None if self.queued.is_empty() => break,
                None => {}
            }
        }
        match self.failed {
            Some(e) => Err(e),
            None => Ok((self.done, self.requested)),
        }
    }
}
