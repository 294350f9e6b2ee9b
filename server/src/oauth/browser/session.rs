//! Server-side browser sessions, as datastore records ([`crate::oauth::state`]): a restart
//! signs nobody out and any replica continues a sign-in another one started (no sticky
//! sessions). The cookie holds only a 256-bit random id (the record is keyed by its
//! SHA-256); the session holds the CSRF token, the signed-in user and the pending
//! authorization requests. Sessions end after an idle and an absolute lifetime; a sign-in
//! always moves the session to a new id (session fixation). Every change is a
//! compare-and-swap on the record's revision.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use tessera_proto::clock::unix_seconds;

use super::authorize::AuthorizationRequest;
use super::csrf::random_token;
use crate::datastore::ExpiringKind;
use crate::oauth::state::{CAS_ATTEMPTS, Records, StateError, StateStore, digest, pause_before};

/// Most anonymous (not signed-in) sessions one source address (IPv6: its /64) holds; a new
/// one from that source replaces its oldest.
pub const ANONYMOUS_PER_SOURCE: usize = 16;
/// Most pending authorization requests per session (the oldest is dropped).
const MAX_PENDING: usize = 8;
/// A pending request not finished within this many seconds is dropped.
const PENDING_TTL: i64 = 600;
/// A step that changes nothing rewrites the session (to extend its idle lifetime) only when
/// it was last written this many seconds (at most a quarter of the idle lifetime) ago.
const TOUCH_EVERY: i64 = 60;

/// Who signed in, when and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The user's opaque id.
    pub user_id: String,
    /// Unix seconds of the authentication.
    pub auth_time: i64,
    /// Methods (`pwd`, `otp`).
    pub amr: Vec<String>,
    /// The account's credential stamp at sign-in (see [`super::UserLogin::account_stamp`]):
    /// a later password change makes it stale and ends the session.
    pub stamp: String,
}

/// One browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The signed-in user, if any.
    pub user: Option<SignedIn>,
    /// A password matched for this user; waiting for the TOTP code.
    pub awaiting_totp: Option<String>,
    /// Wrong device user codes entered in this session (RFC 8628 §5.1 brute-force limit).
    pub device_attempts: u32,
    pending: Vec<(String, AuthorizationRequest, i64)>,
    created_at: i64,
    last_seen: i64,
}

impl Session {
    /// Keeps `request` under a fresh id (returned).
    pub fn add_pending(&mut self, request: AuthorizationRequest, now: i64) -> Option<String> {
        let id = random_token()?;
        self.pending.retain(|(_, _, at)| now - at < PENDING_TTL);
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push((id.clone(), request, now));
        Some(id)
    }

    /// The pending request `id`, if still live.
    pub fn pending(&self, id: &str, now: i64) -> Option<&AuthorizationRequest> {
        self.pending
            .iter()
            .find(|(i, _, at)| i == id && now - at < PENDING_TTL)
            .map(|(_, r, _)| r)
    }

    /// Removes and returns the pending request `id`.
    pub fn take_pending(&mut self, id: &str, now: i64) -> Option<AuthorizationRequest> {
        let i = self
            .pending
            .iter()
            .position(|(i, _, at)| i == id && now - at < PENDING_TTL)?;
        Some(self.pending.remove(i).1)
    }
}

/// Why a session could not be read, created or changed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The random generator failed.
    #[error("random generation failed")]
    Random,
    /// The session to sign in ended (or was signed in concurrently).
    #[error("the session ended")]
    Ended,
    /// The datastore failed.
    #[error(transparent)]
    Store(#[from] StateError),
}

/// A source address as the anonymous-session bound counts it: IPv4 as is, IPv6 by its /64;
/// as 16 bytes (IPv4-mapped), the session's group in the datastore.
fn source_group(source: IpAddr) -> [u8; 16] {
    match source {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                octets
            }
        },
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
    }
}

fn key(id: &str) -> [u8; 32] {
    digest(&[id.as_bytes()])
}

/// The browser sessions, in the datastore.
#[derive(Debug, Clone)]
pub struct SessionStore {
    idle: i64,
    absolute: i64,
    records: Records<Session>,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl SessionStore {
    /// Sessions in `store`, ending after `idle` without use or `absolute` after creation.
    pub fn new(idle: Duration, absolute: Duration, store: Arc<dyn StateStore>) -> Self {
        Self {
            idle: secs(idle),
            absolute: secs(absolute),
            records: Records::new(store, ExpiringKind::BrowserSession),
        }
    }

    /// When `session` ends if not used again.
    fn expiry(&self, session: &Session) -> i64 {
        session
            .last_seen
            .saturating_add(self.idle)
            .min(session.created_at.saturating_add(self.absolute))
    }

    /// Runs `f` on the live session `id` (touching it) and writes the result back; `None` if
    /// unknown or expired. `f` runs again on a fresh copy when a concurrent request of the
    /// same browser changed the session first.
    pub async fn with<R>(
        &self,
        id: &str,
        now: SystemTime,
        mut f: impl FnMut(&mut Session) -> R,
    ) -> Result<Option<R>, SessionError> {
        let now = unix_seconds(now);
        let key = key(id);
        for attempt in 0..CAS_ATTEMPTS {
            pause_before(attempt).await;
            let Some(found) = self.records.get(&key, now).await? else {
                return Ok(None);
            };
            let mut session = found.value.clone();
            let result = f(&mut session);
            let touch_every = (self.idle / 4).min(TOUCH_EVERY);
            if session == found.value && now - found.value.last_seen < touch_every {
                return Ok(Some(result));
            }
            session.last_seen = now;
            let expires_at = self.expiry(&session);
            if self
                .records
                .update(&key, found.revision, &session, expires_at)
                .await?
            {
                return Ok(Some(result));
            }
        }
        Err(StateError::Contended(ExpiringKind::BrowserSession).into())
    }

    /// [`Self::with`] on the session a cookie names (`id`): `None` without a cookie or a
    /// live session, else the id and what `f` returned.
    pub async fn with_cookie<R>(
        &self,
        id: Option<String>,
        now: SystemTime,
        f: impl FnMut(&mut Session) -> R,
    ) -> Result<Option<(String, R)>, SessionError> {
        let Some(id) = id else {
            return Ok(None);
        };
        Ok(self.with(&id, now, f).await?.map(|r| (id, r)))
    }

    /// A new anonymous session for a browser at `source`; returns its id. A source holds
    /// at most [`ANONYMOUS_PER_SOURCE`] anonymous sessions (its oldest is replaced), so a
    /// flood from one source never ends another source's sessions or a signed-in one.
    pub async fn create(&self, now: SystemTime, source: IpAddr) -> Result<String, SessionError> {
        let now = unix_seconds(now);
        let group = source_group(source);
        let id = random_token().ok_or(SessionError::Random)?;
        let csrf = random_token().ok_or(SessionError::Random)?;
        let held = self
            .records
            .group(&group, now, ANONYMOUS_PER_SOURCE)
            .await?;
        if held.len() >= ANONYMOUS_PER_SOURCE
            && let Some(oldest) = held.first()
        {
            self.records.delete(oldest, None).await?;
        }
        let session = Session {
            csrf,
            user: None,
            awaiting_totp: None,
            device_attempts: 0,
            pending: Vec::new(),
            created_at: now,
            last_seen: now,
        };
        let expires_at = self.expiry(&session);
        if !self
            .records
            .create(&key(&id), &group, &session, now, expires_at)
            .await?
        {
            return Err(SessionError::Random);
        }
        Ok(id)
    }

    /// Moves session `old` to a new id with a new CSRF token, signed in as `user` (the
    /// absolute lifetime restarts). The old id is gone afterwards.
    pub async fn sign_in(
        &self,
        old: &str,
        user: SignedIn,
        now: SystemTime,
    ) -> Result<String, SessionError> {
        let now = unix_seconds(now);
        let id = random_token().ok_or(SessionError::Random)?;
        let csrf = random_token().ok_or(SessionError::Random)?;
        let old_key = key(old);
        let found = self
            .records
            .get(&old_key, now)
            .await?
            .ok_or(SessionError::Ended)?;
        // Only one sign-in moves a session: a concurrent one finds it gone.
        if !self.records.delete(&old_key, Some(found.revision)).await? {
            return Err(SessionError::Ended);
        }
        let mut session = found.value;
        session.csrf = csrf;
        session.user = Some(user);
        session.awaiting_totp = None;
        session.created_at = now;
        session.last_seen = now;
        let expires_at = self.expiry(&session);
        // Signed-in sessions belong to no source group: anonymous ones never evict them.
        if !self
            .records
            .create(&key(&id), &[], &session, now, expires_at)
            .await?
        {
            return Err(SessionError::Random);
        }
        Ok(id)
    }

    /// Ends session `id`.
    pub async fn remove(&self, id: &str) -> Result<(), SessionError> {
        self.records.delete(&key(id), None).await?;
        Ok(())
    }
}

/// The cookie carrying the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// `__Host-tessera-session`, or `tessera-session` for a loopback `http` issuer
    /// (browsers refuse `__Host-` cookies without `Secure`); a tenant's ends with
    /// `.<tenant>` (every tenant of a host signs in apart).
    pub name: std::borrow::Cow<'static, str>,
    /// `Secure` attribute.
    pub secure: bool,
}

impl SessionCookie {
    /// The cookie for `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            Self {
                name: "__Host-tessera-session".into(),
                secure: true,
            }
        } else {
            Self {
                name: "tessera-session".into(),
                secure: false,
            }
        }
    }

    /// The cookie of `tenant`'s issuer: the default tenant's is [`Self::for_issuer`]'s,
    /// another tenant's carries its ID in the name (`Path=/` stays: `__Host-` demands it).
    pub fn for_tenant(issuer: &str, tenant: &crate::datastore::TenantId) -> Self {
        let mut cookie = Self::for_issuer(issuer);
        if !tenant.is_default() {
            cookie.name = format!("{}.{tenant}", cookie.name).into();
        }
        cookie
    }

    /// The session id the request carries, if any.
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == self.name.as_ref())
            .map(|(_, v)| v.to_owned())
    }

    fn attributes(&self) -> &'static str {
        if self.secure {
            "; Path=/; Secure; HttpOnly; SameSite=Lax"
        } else {
            "; Path=/; HttpOnly; SameSite=Lax"
        }
    }

    /// `Set-Cookie` for session `id` (a session cookie: the server enforces lifetimes).
    pub fn set(&self, id: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}={id}{}", self.name, self.attributes())).ok()
    }

    /// `Set-Cookie` removing the cookie.
    pub fn clear(&self) -> HeaderValue {
        let text = format!("{}=; Max-Age=0{}", self.name, self.attributes());
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::datastore::memory::MemoryStore;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn src(i: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0xc000_0200 + i))
    }

    fn user() -> SignedIn {
        SignedIn {
            user_id: "u".into(),
            auth_time: 0,
            amr: vec!["pwd".into()],
            stamp: "s".into(),
        }
    }

    fn store() -> SessionStore {
        let memory = Arc::new(MemoryStore::default());
        SessionStore::new(Duration::from_secs(100), Duration::from_secs(250), memory)
    }

    async fn live(store: &SessionStore, id: &str, s: u64) -> bool {
        store.with(id, at(s), |_| ()).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn sessions_end_when_idle_or_too_old() {
        let store = store();
        let id = store.create(at(0), src(1)).await.unwrap();
        assert!(live(&store, &id, 99).await);
        assert!(live(&store, &id, 198).await, "use keeps it alive");
        assert!(live(&store, &id, 249).await);
        assert!(!live(&store, &id, 250).await, "absolute lifetime");
        let idle = store.create(at(0), src(1)).await.unwrap();
        assert!(!live(&store, &idle, 100).await, "idle lifetime");
    }

    /// Issue 11 §11: one source holds a bounded number of anonymous sessions (its oldest
    /// makes room); other sources and signed-in sessions are not affected.
    #[tokio::test]
    async fn anonymous_sessions_are_bounded_per_source_and_evicted_before_refusing() {
        let store = store();
        let pre = store.create(at(0), src(1)).await.unwrap();
        let signed = store.sign_in(&pre, user(), at(0)).await.unwrap();
        // (The oldest is the earliest created; sessions of one second are in no set order.)
        let first = store.create(at(0), src(1)).await.unwrap();
        for _ in 1..ANONYMOUS_PER_SOURCE {
            store.create(at(1), src(1)).await.unwrap();
        }
        assert!(live(&store, &first, 2).await);
        store.create(at(2), src(1)).await.unwrap();
        assert!(
            !live(&store, &first, 2).await,
            "the source's oldest anonymous session made room"
        );
        // Another source is not affected by the first one's share, nor is the signed-in one.
        let other = store.create(at(2), src(2)).await.unwrap();
        assert!(live(&store, &other, 2).await);
        for _ in 0..2 * ANONYMOUS_PER_SOURCE {
            store.create(at(3), src(1)).await.unwrap();
        }
        assert!(live(&store, &signed, 3).await);
        assert!(live(&store, &other, 3).await);
        // An IPv6 source is counted by its /64.
        let v6 = |tail: &str| format!("2001:db8:1:2::{tail}").parse::<IpAddr>().unwrap();
        let first = store.create(at(4), v6("1")).await.unwrap();
        for i in 1..=ANONYMOUS_PER_SOURCE {
            store.create(at(5), v6(&format!("{i:x}"))).await.unwrap();
        }
        assert!(!live(&store, &first, 5).await);
    }

    #[tokio::test]
    async fn signing_in_moves_the_session_to_a_new_id_and_token() {
        let store = store();
        let old = store.create(at(0), src(1)).await.unwrap();
        let csrf = store
            .with(&old, at(1), |s| s.csrf.clone())
            .await
            .unwrap()
            .unwrap();
        let new = store.sign_in(&old, user(), at(2)).await.unwrap();
        assert_ne!(old, new);
        assert!(!live(&store, &old, 3).await);
        let (csrf2, who) = store
            .with(&new, at(3), |s| (s.csrf.clone(), s.user.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(csrf, csrf2);
        assert_eq!(who, Some(user()));
        assert!(matches!(
            store.sign_in(&old, user(), at(4)).await,
            Err(SessionError::Ended)
        ));
    }

    /// Two replicas on one datastore: a session created through one is seen and changed
    /// through the other, and concurrent changes are both kept (compare-and-swap + retry).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_changes_through_two_stores_are_all_kept() {
        let shared = Arc::new(MemoryStore::default());
        let ttl = Duration::from_secs(3600);
        let a = SessionStore::new(ttl, ttl, shared.clone());
        let b = SessionStore::new(ttl, ttl, shared);
        let id = a.create(at(0), src(1)).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (store, id) = (if i % 2 == 0 { a.clone() } else { b.clone() }, id.clone());
                tokio::spawn(async move {
                    store
                        .with(&id, at(1), |s| s.device_attempts += 1)
                        .await
                        .unwrap()
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let attempts = b.with(&id, at(2), |s| s.device_attempts).await.unwrap();
        assert_eq!(attempts, Some(16));
    }

    #[test]
    fn the_cookie_is_host_prefixed_and_secure_unless_the_issuer_is_plain_http() {
        let https = SessionCookie::for_issuer("https://auth.example");
        let set = https.set("abc").unwrap();
        assert_eq!(
            set,
            "__Host-tessera-session=abc; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        let http = SessionCookie::for_issuer("http://127.0.0.1:8443");
        assert_eq!(
            http.set("abc").unwrap(),
            "tessera-session=abc; Path=/; HttpOnly; SameSite=Lax"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-tessera-session=xyz; b=2"),
        );
        assert_eq!(https.read(&headers).as_deref(), Some("xyz"));
        assert_eq!(http.read(&headers), None);
    }
}
