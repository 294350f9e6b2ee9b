//! Passwords: Argon2id with the parameters inside the PHC string, length limits checked
//! before any hashing, transparent re-hash when the configured parameters change, and a
//! dummy verification so an unknown username costs the same as a known one.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, Version};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

use super::UserError;

/// Fewest characters in a password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes in a password (checked before hashing: no multi-megabyte hashing input).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Salt bytes in a new hash.
const SALT_BYTES: usize = 16;
/// Hash output bytes.
const OUTPUT_BYTES: usize = 32;

/// Bounds on parameters read back from a stored hash (a corrupted record must not make
/// one verification allocate gigabytes or run for minutes).
const MAX_STORED_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_STORED_ITERATIONS: u32 = 64;
const MAX_STORED_PARALLELISM: u32 = 16;

/// A password as typed: zeroized on drop, never printed.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Accepts 8 to 1024 bytes (at least 8 characters). Nothing is hashed before this
    /// check, and the error never echoes the password.
    pub fn new(text: Zeroizing<String>) -> Result<Self, UserError> {
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(UserError::Invalid {
                field: "password",
                reason: format!("at most {MAX_PASSWORD_BYTES} bytes"),
            });
        }
        if text.chars().count() < MIN_PASSWORD_CHARS {
            return Err(UserError::Invalid {
                field: "password",
                reason: format!("at least {MIN_PASSWORD_CHARS} characters"),
            });
        }
        Ok(Self(text))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Argon2id cost parameters (`[users] argon2_*`).
///
/// Defaults: m = 47104 KiB (46 MiB), t = 5, p = 1 ≈ 105 ms per hash on the 2-core build
/// machine when it is otherwise idle, release and dev builds alike (argon2/blake2 are built
/// at opt-level 3). Cost is linear in `t`: `cargo bench -p tessera-tests --bench login`
/// measured 42 ms for 46 MiB/t=2 on an idle machine (the 105 ms first measured for t=2 was
/// taken under a parallel build); `cargo test -p tessera-server --release --lib argon2_cost
/// -- --ignored --nocapture` prints other settings. Well above OWASP's floor (19 MiB,
/// t = 2). One lane: this build computes lanes one after another, so more lanes only add
/// cost without using more cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: 46 * 1024,
            iterations: 5,
            parallelism: 1,
        }
    }
}

impl Argon2Settings {
    fn params(&self) -> Result<Params, UserError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| UserError::Internal(format!("argon2 parameters: {e}")))
    }

    /// A PHC string with these parameters that no password matches (all-zero output): what
    /// an unknown username is verified against, so it costs one real hash.
    fn dummy_hash(&self) -> String {
        let (m, t, p) = (self.memory_kib, self.iterations, self.parallelism);
        format!(
            "$argon2id$v=19$m={m},t={t},p={p}$AAAAAAAAAAAAAAAAAAAAAA${}",
            "A".repeat(43)
        )
    }
}

/// The outcome of a verification.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    /// The password matched.
    pub ok: bool,
    /// When it matched but the stored hash has other parameters than configured: the new
    /// PHC string to store.
    pub rehash: Option<String>,
}

#[cfg(test)]
thread_local! {
    /// How many Argon2 computations this thread ran (tests prove the dummy path hashes).
    pub(crate) static HASHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_hash() {
    #[cfg(test)]
    HASHES.with(|h| h.set(h.get() + 1));
}

/// Hashes `password` with a fresh random salt: a PHC string (`$argon2id$v=19$m=…`).
pub fn hash_password(password: &Password, settings: &Argon2Settings) -> Result<String, UserError> {
    let mut salt = [0u8; SALT_BYTES];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| UserError::Internal("the system random generator failed".into()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, settings.params()?);
    count_hash();
    argon
        .hash_password_with_salt(password.bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Internal(format!("argon2: {e}")))
}

/// The parameters of a stored Argon2id hash, when it is one within bounds.
fn stored_settings(hash: &PasswordHash) -> Option<(Argon2Settings, Params)> {
    if hash.algorithm.as_str() != "argon2id" || hash.version != Some(0x13) {
        return None;
    }
    let params = Params::try_from(hash).ok()?;
    let settings = Argon2Settings {
        memory_kib: params.m_cost(),
        iterations: params.t_cost(),
        parallelism: params.p_cost(),
    };
    let bounded = settings.memory_kib <= MAX_STORED_MEMORY_KIB
        && settings.iterations <= MAX_STORED_ITERATIONS
        && settings.parallelism <= MAX_STORED_PARALLELISM;
    bounded.then_some((settings, params))
}

/// Verifies `candidate` against the PHC string `stored` (`None`: an unknown user, checked
/// against a dummy hash at `settings` so it costs the same). Exactly one Argon2
/// computation runs whatever `stored` holds (plus one more to re-hash a match whose
/// parameters differ from `settings`).
pub fn verify_password(
    stored: Option<&str>,
    candidate: &Password,
    settings: &Argon2Settings,
) -> Verified {
    let dummy = settings.dummy_hash();
    let parsed = stored.and_then(|s| {
        let hash = PasswordHash::new(s).ok()?;
        let (found, params) = stored_settings(&hash)?;
        Some((hash, found, params))
    });
    if stored.is_some() && parsed.is_none() {
        tracing::error!("a stored password hash is not a usable Argon2id PHC string");
    }
    let real = parsed.is_some();
    let (hash, found, params) = match parsed {
        Some(p) => p,
        None => match PasswordHash::new(&dummy)
            .ok()
            .and_then(|h| stored_settings(&h).map(|(s, p)| (h, s, p)))
        {
            Some(p) => p,
            None => {
                return Verified {
                    ok: false,
                    rehash: None,
                };
            }
        },
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Verified {
            ok: false,
            rehash: None,
        };
    };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 64]);
    let len = expected.len().min(64);
    count_hash();
    let computed = argon.hash_password_into(candidate.bytes(), salt.as_ref(), &mut out[..len]);
    let matched = computed.is_ok()
        && aws_lc_rs::constant_time::verify_slices_are_equal(&out[..len], expected.as_ref())
            .is_ok();
    let ok = real && matched;
    let rehash = if ok && (found != *settings || len != OUTPUT_BYTES) {
        match hash_password(candidate, settings) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::error!(error = %e, "re-hashing a password failed");
                None
            }
        }
    } else {
        None
    };
    Verified { ok, rehash }
}

/// Argon2 at the async boundary: every computation runs on the blocking pool.
#[derive(Debug, Clone)]
pub struct Passwords {
    settings: Arc<Argon2Settings>,
    /// Argon2 computations run through this instance (tests of the dummy path).
    #[cfg(test)]
    pub(crate) hashes: Arc<std::sync::atomic::AtomicUsize>,
}

/// Runs `f`, adding the Argon2 computations it ran on this thread to `counter`.
#[cfg(test)]
fn counted<T>(counter: &std::sync::atomic::AtomicUsize, f: impl FnOnce() -> T) -> T {
    let before = HASHES.with(std::cell::Cell::get);
    let out = f();
    let ran = HASHES.with(std::cell::Cell::get) - before;
    counter.fetch_add(ran, std::sync::atomic::Ordering::SeqCst);
    out
}

#[cfg(not(test))]
fn counted<T>(_: &(), f: impl FnOnce() -> T) -> T {
    f()
}

impl Passwords {
    /// Hashing with `settings`.
    pub fn new(settings: Argon2Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            #[cfg(test)]
            hashes: Arc::default(),
        }
    }

    #[cfg(test)]
    fn counter(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.hashes.clone()
    }

    #[cfg(not(test))]
    fn counter(&self) -> Arc<()> {
        Arc::new(())
    }

    /// The configured parameters.
    pub fn settings(&self) -> &Argon2Settings {
        &self.settings
    }

    /// [`hash_password`] on the blocking pool.
    pub async fn hash(&self, password: Arc<Password>) -> Result<String, UserError> {
        let settings = self.settings.clone();
        let counter = self.counter();
        tokio::task::spawn_blocking(move || {
            counted(&counter, || hash_password(&password, &settings))
        })
        .await
        .map_err(|e| UserError::Internal(format!("hashing task: {e}")))?
    }

    /// [`verify_password`] on the blocking pool.
    pub async fn verify(
        &self,
        stored: Option<String>,
        candidate: Arc<Password>,
    ) -> Result<Verified, UserError> {
        let settings = self.settings.clone();
        let counter = self.counter();
        tokio::task::spawn_blocking(move || {
            counted(&counter, || {
                verify_password(stored.as_deref(), &candidate, &settings)
            })
        })
        .await
        .map_err(|e| UserError::Internal(format!("verification task: {e}")))
    }
}

#[cfg(test)]
#[path = "password_tests.rs"]
pub(crate) mod tests;
