//! Group commit for sled flushes.
//!
//! Every acknowledged write must be durable before the API answers, so each write is
//! followed by a flush. Flushing per write serialises concurrent writers on one fsync each;
//! here concurrent callers share flushes instead: a caller takes a ticket, and one flush
//! that *starts* after the ticket was taken covers it (its write happened before). While a
//! flush runs, callers that arrive wait for it to end, and the next flush covers all of them
//! at once. A failed flush completes nobody: its waiters retry with a new flush.

use std::sync::Mutex;

use tokio::sync::Notify;

use super::storage;
use crate::datastore::DatastoreError;

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out.
    requested: u64,
    /// Every ticket up to this one is durable.
    completed: u64,
    /// A flush is in progress.
    running: bool,
}

/// Shared by every clone of a store.
#[derive(Debug, Default)]
pub(super) struct GroupFlush {
    state: Mutex<State>,
    done: Notify,
}

impl GroupFlush {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once everything written before the call is durable.
    ///
    /// A blocking `flush` on tokio's blocking pool, not sled's `flush_async`: concurrent
    /// `flush_async` calls can hang forever in sled 0.34 (spacejam/sled#1308, fixed only on
    /// its unreleased main branch).
    pub(super) async fn flush(&self, db: &::sled::Db) -> Result<(), DatastoreError> {
        let ticket = {
            let mut s = self.lock();
            s.requested += 1;
            s.requested
        };
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            // Registered before the state is read, so a flush ending in between still wakes us.
            notified.as_mut().enable();
            let target = {
                let mut s = self.lock();
                if s.completed >= ticket {
                    return Ok(());
                }
                if s.running {
                    None
                } else {
                    s.running = true;
                    Some(s.requested)
                }
            };
            let Some(target) = target else {
                notified.await;
                continue;
            };
            let db = db.clone();
            let result = tokio::task::spawn_blocking(move || db.flush())
                .await
                .map_err(|e| DatastoreError::Storage(format!("flush task: {e}")))
                .and_then(|r| r.map(drop).map_err(storage));
            {
                let mut s = self.lock();
                s.running = false;
                if result.is_ok() {
                    s.completed = s.completed.max(target);
                }
            }
            self.done.notify_waiters();
            return result;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_flushes_all_complete_and_share_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        let db = ::sled::Config::new().path(dir.path()).open().unwrap();
        let group = Arc::new(GroupFlush::default());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0u32..200 {
            let (db, group) = (db.clone(), group.clone());
            tasks.spawn(async move {
                db.insert(i.to_be_bytes(), &[1u8][..]).unwrap();
                group.flush(&db).await
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
        }
        let s = group.lock();
        assert_eq!((s.requested, s.completed, s.running), (200, 200, false));
    }
}
