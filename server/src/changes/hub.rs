//! The in-process fan-out of [`Change`]s: a broadcast channel; a receiver that fell behind
//! gets [`Change::Everything`] instead of what it missed.

use tokio::sync::broadcast;

use super::Change;

/// Changes a receiver may fall behind by before it is told "everything" instead.
pub const CHANGE_BACKLOG: usize = 4096;

/// Announces changes to every current receiver. Cloning shares the channel; announcing
/// with no receiver is a no-op.
#[derive(Debug, Clone)]
pub struct ChangeHub {
    sender: broadcast::Sender<Change>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CHANGE_BACKLOG).0,
        }
    }
}

impl ChangeHub {
    /// Announces `change` to every receiver.
    pub fn announce(&self, change: Change) {
        // No receiver: nobody to tell.
        let _ = self.sender.send(change);
    }

    /// Changes announced from now on.
    pub fn subscribe(&self) -> ChangeReceiver {
        ChangeReceiver {
            receiver: self.sender.subscribe(),
        }
    }

    /// How many receivers are listening.
    pub fn receivers(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// The changes announced since [`ChangeHub::subscribe`].
#[derive(Debug)]
pub struct ChangeReceiver {
    receiver: broadcast::Receiver<Change>,
}

impl ChangeReceiver {
    /// The next change; [`Change::Everything`] after falling behind; `None` once every hub
    /// is gone.
    pub async fn next(&mut self) -> Option<Change> {
        match self.receiver.recv().await {
            Ok(change) => Some(change),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Everything),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_receiver_hears_each_change_and_a_lagging_one_hears_everything() {
        let hub = ChangeHub::default();
        hub.announce(Change::Everything); // nobody listening: dropped
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        assert_eq!(hub.receivers(), 2);
        let bundle = Change::Bundle {
            trust_domain: "example.org".into(),
        };
        hub.announce(bundle.clone());
        assert_eq!(a.next().await.unwrap(), bundle);
        assert_eq!(b.next().await.unwrap(), bundle);
        for i in 0..=CHANGE_BACKLOG as u64 {
            hub.announce(Change::entry(i, Some("p"), None));
        }
        assert_eq!(a.next().await.unwrap(), Change::Everything);
        drop(hub);
        // What is still queued, then the end.
        let mut rest = 0;
        while a.next().await.is_some() {
            rest += 1;
        }
        assert_eq!(rest, CHANGE_BACKLOG);
    }
}
