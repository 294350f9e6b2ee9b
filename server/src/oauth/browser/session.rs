//! Server-side browser sessions, in this process's memory (a restart signs everyone out;
//! with several replicas the load balancer must keep a browser on one replica). The
//! cookie holds only a 256-bit random id; the session holds the CSRF token, the signed-in
//! user and the pending authorization requests. Sessions end after an idle and an
//! absolute lifetime; a sign-in always moves the session to a new id (session fixation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, header};
use tessera_proto::clock::unix_seconds;

use super::authorize::AuthorizationRequest;
use super::csrf::random_token;

/// Most sessions held at once.
const CAPACITY: usize = 100_000;
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

/// The sessions of this process.
#[derive(Debug)]
pub struct SessionStore {
    idle: i64,
    absolute: i64,
    map: Mutex<HashMap<String, Session>>,
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
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
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
        let mut map = self.lock();
        let live = map.get(id).is_some_and(|s| self.live(s, now));
        if !live {
            map.remove(id);
            return None;
        }
        let session = map.get_mut(id)?;
        session.last_seen = now;
        Some(f(session))
    }

    /// A new anonymous session; returns its id.
    pub fn create(&self, now: SystemTime) -> Result<String, SessionError> {
        let now = unix_seconds(now);
        let id = random_token().ok_or(SessionError::Random)?;
        let csrf = random_token().ok_or(SessionError::Random)?;
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.retain(|_, s| now - s.last_seen < self.idle && now - s.created_at < self.absolute);
            if map.len() >= CAPACITY {
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
        };
        map.insert(id.clone(), session);
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
        let mut map = self.lock();
        let mut session = map.remove(old).ok_or(SessionError::Full)?;
        session.csrf = csrf;
        session.user = Some(user);
        session.awaiting_totp = None;
        session.created_at = now;
        session.last_seen = now;
        map.insert(id.clone(), session);
        Ok(id)
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
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
        let id = store.create(at(0)).unwrap();
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
        let idle = store.create(at(0)).unwrap();
        assert!(
            store.with(&idle, at(100), |_| ()).is_none(),
            "idle lifetime"
        );
    }

    #[test]
    fn signing_in_moves_the_session_to_a_new_id_and_token() {
        let store = SessionStore::new(Duration::from_secs(100), Duration::from_secs(250));
        let old = store.create(at(0)).unwrap();
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
