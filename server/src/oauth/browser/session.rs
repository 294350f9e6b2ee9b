//! Server-side browser sessions, in this process's memory (a restart signs everyone out;
//! with several replicas the load balancer must keep a browser on one replica). The
//! cookie holds only a 256-bit random id; the session holds the CSRF token, the signed-in
//! user and the pending authorization requests. Sessions end after an idle and an
//! absolute lifetime; a sign-in always moves the session to a new id (session fixation).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, header};
use tessera_proto::clock::unix_seconds;

use super::authorize::AuthorizationRequest;
use super::csrf::random_token;

/// Most sessions held at once.
const CAPACITY: usize = 100_000;
/// Most anonymous (not signed-in) sessions one source address (IPv6: its /64) holds; a new
/// one from that source replaces its oldest.
pub const ANONYMOUS_PER_SOURCE: usize = 16;
/// Most pending authorization requests per session (the oldest is dropped).
const MAX_PENDING: usize = 8;
/// A pending request not finished within this many seconds is dropped.
const PENDING_TTL: i64 = 600;

/// Who signed in, when and how.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone)]
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
    /// The (normalised) source address that created this anonymous session; `None` once
    /// signed in (signed-in sessions are never evicted for anonymous ones).
    anonymous_from: Option<IpAddr>,
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

/// Why a session could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The random generator failed.
    #[error("random generation failed")]
    Random,
    /// Too many live sessions.
    #[error("too many sessions")]
    Full,
}

/// The sessions, and the anonymous ones in creation order (overall and per source) so a
/// flood evicts anonymous sessions instead of refusing sign-ins. The queues may hold ids
/// of sessions since signed in or ended: they are skipped.
#[derive(Debug, Default)]
struct Table {
    sessions: HashMap<String, Session>,
    anonymous: VecDeque<String>,
    by_source: HashMap<IpAddr, VecDeque<String>>,
}

impl Table {
    fn is_anonymous(&self, id: &str) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|s| s.anonymous_from.is_some())
    }

    /// Ends the oldest anonymous session of `source`, if it holds its whole share.
    fn make_room_for(&mut self, source: IpAddr) {
        let Some(mut queue) = self.by_source.remove(&source) else {
            return;
        };
        queue.retain(|id| self.is_anonymous(id));
        if queue.len() >= ANONYMOUS_PER_SOURCE
            && let Some(oldest) = queue.pop_front()
        {
            self.sessions.remove(&oldest);
        }
        if !queue.is_empty() {
            self.by_source.insert(source, queue);
        }
    }

    /// Ends the oldest anonymous session overall; `false` when there is none.
    fn evict_oldest_anonymous(&mut self) -> bool {
        while let Some(id) = self.anonymous.pop_front() {
            if self.is_anonymous(&id) {
                self.sessions.remove(&id);
                return true;
            }
        }
        false
    }

    /// Drops queued ids that no longer name an anonymous session once the queue is much
    /// longer than the table (keeps the queue bounded).
    fn compact(&mut self) {
        if self.anonymous.len() > 2 * CAPACITY {
            let queue = std::mem::take(&mut self.anonymous);
            self.anonymous = queue
                .into_iter()
                .filter(|id| self.is_anonymous(id))
                .collect();
            let sources = std::mem::take(&mut self.by_source);
            for (source, queue) in sources {
                let queue: VecDeque<String> = queue
                    .into_iter()
                    .filter(|id| self.is_anonymous(id))
                    .collect();
                if !queue.is_empty() {
                    self.by_source.insert(source, queue);
                }
            }
        }
    }
}

/// A source address as the anonymous-session bound counts it: IPv4 as is, IPv6 by its /64.
fn source_key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
        },
        v4 => v4,
    }
}

/// The sessions of this process.
#[derive(Debug)]
pub struct SessionStore {
    idle: i64,
    absolute: i64,
    map: Mutex<Table>,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl SessionStore {
    /// Sessions ending after `idle` without use or `absolute` after creation.
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            idle: secs(idle),
            absolute: secs(absolute),
            map: Mutex::new(Table::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn live(&self, s: &Session, now: i64) -> bool {
        now - s.last_seen < self.idle && now - s.created_at < self.absolute
    }

    /// Runs `f` on the live session `id` (touching it); `None` if unknown or expired.
    pub fn with<R>(
        &self,
        id: &str,
        now: SystemTime,
        f: impl FnOnce(&mut Session) -> R,
    ) -> Option<R> {
        let now = unix_seconds(now);
        let mut table = self.lock();
        let live = table.sessions.get(id).is_some_and(|s| self.live(s, now));
        if !live {
            table.sessions.remove(id);
            return None;
        }
        let session = table.sessions.get_mut(id)?;
        session.last_seen = now;
        Some(f(session))
    }

    /// A new anonymous session for a browser at `source`; returns its id. A source holds
    /// at most [`ANONYMOUS_PER_SOURCE`] anonymous sessions (its oldest is replaced); a full
    /// table drops expired sessions, then the oldest anonymous one: a flood of anonymous
    /// sessions never stops sign-ins, and never ends a signed-in session.
    pub fn create(&self, now: SystemTime, source: IpAddr) -> Result<String, SessionError> {
        let now = unix_seconds(now);
        let source = source_key(source);
        let id = random_token().ok_or(SessionError::Random)?;
        let csrf = random_token().ok_or(SessionError::Random)?;
        let mut table = self.lock();
        table.make_room_for(source);
        if table.sessions.len() >= CAPACITY {
            table
                .sessions
                .retain(|_, s| now - s.last_seen < self.idle && now - s.created_at < self.absolute);
            if table.sessions.len() >= CAPACITY && !table.evict_oldest_anonymous() {
                return Err(SessionError::Full);
            }
        }
        let session = Session {
            csrf,
            user: None,
            awaiting_totp: None,
            device_attempts: 0,
            pending: Vec::new(),
            created_at: now,
            last_seen: now,
            anonymous_from: Some(source),
        };
        table.sessions.insert(id.clone(), session);
        table.anonymous.push_back(id.clone());
        table
            .by_source
            .entry(source)
            .or_default()
            .push_back(id.clone());
        table.compact();
        Ok(id)
    }

    /// Moves session `old` to a new id with a new CSRF token, signed in as `user` (the
    /// absolute lifetime restarts). The old id is gone afterwards.
    pub fn sign_in(
        &self,
        old: &str,
        user: SignedIn,
        now: SystemTime,
    ) -> Result<String, SessionError> {
        let now = unix_seconds(now);
        let id = random_token().ok_or(SessionError::Random)?;
        let csrf = random_token().ok_or(SessionError::Random)?;
        let mut table = self.lock();
        let mut session = table.sessions.remove(old).ok_or(SessionError::Full)?;
        session.csrf = csrf;
        session.user = Some(user);
        session.awaiting_totp = None;
        session.created_at = now;
        session.last_seen = now;
        session.anonymous_from = None;
        table.sessions.insert(id.clone(), session);
        Ok(id)
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        self.lock().sessions.remove(id);
    }

    /// Number of sessions held (tests).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.lock().sessions.len()
    }
}

/// The cookie carrying the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// `__Host-tessera-session`, or `tessera-session` for a loopback `http` issuer
    /// (browsers refuse `__Host-` cookies without `Secure`).
    pub name: &'static str,
    /// `Secure` attribute.
    pub secure: bool,
}

impl SessionCookie {
    /// The cookie for `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            Self {
                name: "__Host-tessera-session",
                secure: true,
            }
        } else {
            Self {
                name: "tessera-session",
                secure: false,
            }
        }
    }

    /// The session id the request carries, if any.
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == self.name)
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

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let store = SessionStore::new(Duration::from_secs(100), Duration::from_secs(250));
        let id = store.create(at(0), src(1)).unwrap();
        assert!(store.with(&id, at(99), |_| ()).is_some());
        assert!(
            store.with(&id, at(198), |_| ()).is_some(),
            "use keeps it alive"
        );
        assert!(store.with(&id, at(249), |_| ()).is_some());
        assert!(
            store.with(&id, at(250), |_| ()).is_none(),
            "absolute lifetime"
        );
        let idle = store.create(at(0), src(1)).unwrap();
        assert!(
            store.with(&idle, at(100), |_| ()).is_none(),
            "idle lifetime"
        );
    }

    /// Issue 11 §11: one source holds a bounded number of anonymous sessions; a full
    /// table evicts the oldest anonymous session instead of refusing (a flood cannot stop
    /// sign-ins) and never a signed-in one.
    #[test]
    fn anonymous_sessions_are_bounded_per_source_and_evicted_before_refusing() {
        let store = SessionStore::new(Duration::from_secs(100), Duration::from_secs(250));
        let first = store.create(at(0), src(1)).unwrap();
        for _ in 1..ANONYMOUS_PER_SOURCE {
            store.create(at(0), src(1)).unwrap();
        }
        assert!(store.with(&first, at(1), |_| ()).is_some());
        store.create(at(1), src(1)).unwrap();
        assert!(
            store.with(&first, at(1), |_| ()).is_none(),
            "the source's oldest anonymous session made room"
        );
        assert_eq!(store.held(), ANONYMOUS_PER_SOURCE);
        // Another source is not affected by the first one's share.
        let other = store.create(at(1), src(2)).unwrap();
        assert!(store.with(&other, at(1), |_| ()).is_some());

        // A full table: signed-in sessions stay, anonymous ones make room.
        let store = SessionStore::new(Duration::from_secs(100), Duration::from_secs(250));
        let pre = store.create(at(0), src(9)).unwrap();
        let signed = store.sign_in(&pre, user(), at(0)).unwrap();
        let mut i = 0u32;
        while store.held() < CAPACITY {
            store.create(at(0), src(1000 + i / 8)).unwrap();
            i += 1;
        }
        let newcomer = store.create(at(1), src(7)).unwrap();
        assert_eq!(store.held(), CAPACITY);
        assert!(store.with(&newcomer, at(1), |_| ()).is_some());
        assert!(store.with(&signed, at(1), |_| ()).is_some());
    }

    #[test]
    fn signing_in_moves_the_session_to_a_new_id_and_token() {
        let store = SessionStore::new(Duration::from_secs(100), Duration::from_secs(250));
        let old = store.create(at(0), src(1)).unwrap();
        let csrf = store.with(&old, at(1), |s| s.csrf.clone()).unwrap();
        let new = store.sign_in(&old, user(), at(2)).unwrap();
        assert_ne!(old, new);
        assert!(store.with(&old, at(3), |_| ()).is_none());
        let (csrf2, who) = store
            .with(&new, at(3), |s| (s.csrf.clone(), s.user.clone()))
            .unwrap();
        assert_ne!(csrf, csrf2);
        assert_eq!(who, Some(user()));
        assert!(store.sign_in(&old, user(), at(4)).is_err());
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
