//! Every replica's ear on the database: a dedicated connection `LISTEN`s on
//! `tessera_changes` (sent by the triggers of migration `0006_change_notify` in the writing
//! transaction) and announces what it hears on a [`ChangeHub`].
//!
//! NOTIFY is not queued for a listener that is away: whenever the connection is (re)made,
//! [`Change::Everything`] is announced, so a notification lost while it was down costs one
//! sync of every agent instead of a missed change. A lost connection is retried with a
//! jittered, doubling delay (100 ms to 10 s).

use std::time::Duration;

use serde::Deserialize;
use sqlx::postgres::{PgListener, PgPool};
use tessera_proto::backoff::{Backoff, jitter_random};
use tokio_util::sync::CancellationToken;

use super::PgStore;
use crate::changes::{Change, ChangeHub};

/// The NOTIFY channel the triggers send on.
pub const CHANNEL: &str = "tessera_changes";
const RETRY_FLOOR: Duration = Duration::from_millis(100);
const RETRY_CEILING: Duration = Duration::from_secs(10);

/// Listens for the database's change notifications; see the module docs.
#[derive(Debug)]
pub struct PgChangeListener {
    pool: PgPool,
    hub: ChangeHub,
}

impl PgStore {
    /// A listener announcing every replica's entry and bundle writes on `hub`.
    pub fn change_listener(&self, hub: ChangeHub) -> PgChangeListener {
        PgChangeListener {
            pool: self.pool.clone(),
            hub,
        }
    }
}

/// A trigger's payload.
#[derive(Deserialize)]
struct Payload {
    k: String,
    #[serde(default)]
    r: u64,
    #[serde(default)]
    p: Vec<String>,
    #[serde(default)]
    td: String,
}

/// The change a trigger payload announces; anything unreadable is "everything".
pub fn parse_payload(payload: &str) -> Change {
    match serde_json::from_str::<Payload>(payload) {
        Ok(p) if p.k == "entry" && !p.p.is_empty() => Change::entry(
            p.r,
            p.p.first().map(String::as_str),
            p.p.get(1).map(String::as_str),
        ),
        Ok(p) if p.k == "bundle" && !p.td.is_empty() => Change::Bundle { trust_domain: p.td },
        _ => Change::Everything,
    }
}

impl PgChangeListener {
    /// Listens until `shutdown`, reconnecting as needed; never fails (the periodic agent
    /// sync covers the time it cannot listen).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(RETRY_FLOOR, RETRY_CEILING);
        let mut connected_before = false;
        loop {
            match self.connect().await {
                Ok(mut listener) => {
                    backoff.reset();
                    if connected_before {
                        tracing::info!("change listener reconnected; every agent syncs");
                    }
                    connected_before = true;
                    // Whatever was written while nobody listened.
                    self.hub.announce(Change::Everything);
                    loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            heard = listener.try_recv() => match heard {
                                Ok(Some(n)) => self.hub.announce(parse_payload(n.payload())),
                                Ok(None) => {
                                    tracing::warn!("change listener connection lost; reconnecting");
                                    break;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "change listener failed; reconnecting");
                                    break;
                                }
                            },
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "change listener cannot connect; retrying"),
            }
            let wait = backoff.next_wait(jitter_random());
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_payloads_become_changes() {
        assert_eq!(
            parse_payload(r#"{"k":"entry","r":7,"p":["spiffe://a/x","spiffe://a/y"]}"#),
            Change::entry(7, Some("spiffe://a/x"), Some("spiffe://a/y"))
        );
        assert_eq!(
            parse_payload(r#"{"k":"entry","r":8,"p":["spiffe://a/x"]}"#),
            Change::entry(8, Some("spiffe://a/x"), None)
        );
        assert_eq!(
            parse_payload(r#"{"k":"bundle","td":"example.org"}"#),
            Change::Bundle {
                trust_domain: "example.org".into()
            }
        );
        for other in [r#"{"k":"all"}"#, "not json", r#"{"k":"entry","p":[]}"#] {
            assert_eq!(parse_payload(other), Change::Everything, "{other}");
        }
    }
}
