//! OAuth clients: the domain model, validation, secrets (SHA-256 of 256-bit random values,
//! compared in constant time, rotated with a grace period) and client authentication
//! (secrets, `private_key_jwt` and JWT-SVID assertions with single-use `jti`, mutual TLS).

mod assertion;
mod authenticate;
mod certificate;
mod dn;
mod jws;
mod model;
mod replay;
mod secret;
mod svid_assertion;
mod uri;
mod validate;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod test_support;

pub use assertion::{
    ASSERTION_ALGORITHMS, LEEWAY, MAX_ASSERTION_AGE, MAX_JTI_LEN, VerifiedAssertion,
    unverified_client_id, verify_private_key_jwt,
};
pub use authenticate::{ClientAuthError, authenticate_secret, get_client};
pub use certificate::{CertificateError, certificate_thumbprint, verify_client_certificate};
pub use dn::{dn_matches, rfc4514};
pub use jws::AssertionError;
pub use model::{AuthMethod, Client, GRANT_TYPES};
pub use replay::{ReplayCache, ReplayError};
pub use secret::{
    ClientSecret, DEFAULT_GRACE_PERIOD, hash_secret, new_secret_record, rotate_secret_record,
    verify_secret,
};
pub use svid_assertion::{audience_values, verify_spiffe_jwt};
pub use validate::ClientError;

pub use crate::datastore::SecretRecord;
