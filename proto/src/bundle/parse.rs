//! Reading a SPIFFE bundle (a JWK Set) into a [`BundleDocument`].
//!
//! Rejected (with the index of the offending key): anything that is not a JSON object, a
//! missing or non-array `keys`, a bad `spiffe_sequence`/`spiffe_refresh_hint`, a key without
//! `use` or `kty`, an `x509-svid` key whose `x5c` is missing, not exactly one certificate, not
//! standard base64, not a certificate, or whose key parameters differ from the certificate's
//! key, a `jwt-svid` key without a non-empty unique `kid`, unsupported curves, bad base64url.
//!
//! Ignored, as the bundle format requires ("clients encountering unknown key types or uses MUST
//! ignore the corresponding JWK element"): keys with an unknown `use` or `kty`. Also ignored: a
//! repeated X.509 certificate. [`BundleDocument::parse_with_ignored`] reports what was skipped.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::document::{BundleDocument, JWT_SVID_USE, JwtAuthority, X509_SVID_USE};
use super::error::{BundleError, KeyError};
use super::jwk::{PublicJwk, str_member};
use super::spki::certificate_key;
use crate::identity::{TrustDomain, excerpt};

/// A `keys` element that was skipped rather than rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredKey {
    /// Zero-based index in the `keys` array.
    pub index: usize,
    /// Why it was skipped.
    pub reason: IgnoreReason,
}

/// Why a `keys` element was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// `use` is neither `x509-svid` nor `jwt-svid` (values are case-sensitive).
    UnknownUse {
        /// The `use` found (truncated).
        value: String,
    },
    /// `kty` is neither `EC` nor `RSA`.
    UnknownKeyType {
        /// The `kty` found (truncated).
        kty: String,
    },
    /// The same X.509 certificate already appeared at `first_index`.
    DuplicateCertificate {
        /// Index of the first copy.
        first_index: usize,
    },
}

impl fmt::Display for IgnoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keys[{}] ignored: ", self.index)?;
        match &self.reason {
            IgnoreReason::UnknownUse { value } => write!(f, "unknown use {value:?}"),
            IgnoreReason::UnknownKeyType { kty } => write!(f, "unknown key type {kty:?}"),
            IgnoreReason::DuplicateCertificate { first_index } => {
                write!(f, "same certificate as keys[{first_index}]")
            }
        }
    }
}

impl BundleDocument {
    /// Parses the SPIFFE bundle `json` of `trust_domain`. An empty `keys` array gives an empty
    /// bundle (everything revoked), not an error.
    pub fn parse(trust_domain: TrustDomain, json: &[u8]) -> Result<Self, BundleError> {
        Self::parse_with_ignored(trust_domain, json).map(|(doc, _)| doc)
    }

    /// Like [`BundleDocument::parse`], also returning the keys that were skipped (unknown `use`
    /// or `kty`, repeated certificate), e.g. to log them.
    pub fn parse_with_ignored(
        trust_domain: TrustDomain,
        json: &[u8],
    ) -> Result<(Self, Vec<IgnoredKey>), BundleError> {
        let value: Value = serde_json::from_slice(json).map_err(|e| BundleError::NotJson {
            reason: e.to_string(),
        })?;
        let obj = value.as_object().ok_or(BundleError::NotAnObject)?;

        let mut doc = Self::new(trust_domain);
        doc.sequence = optional_u64(obj, "spiffe_sequence")
            .map_err(|found| BundleError::InvalidSequence { found })?;
        doc.refresh_hint = optional_u64(obj, "spiffe_refresh_hint")
            .map_err(|found| BundleError::InvalidRefreshHint { found })?;
        let keys = match obj.get("keys") {
            None => return Err(BundleError::MissingKeys),
            Some(Value::Array(keys)) => keys,
            Some(_) => return Err(BundleError::KeysNotArray),
        };

        let mut state = State::default();
        for (index, entry) in keys.iter().enumerate() {
            state
                .add(&mut doc, index, entry)
                .map_err(|source| BundleError::Key { index, source })?;
        }
        Ok((doc, state.ignored))
    }
}

#[derive(Default)]
struct State {
    /// DER of each certificate taken so far → its index in `keys`.
    certs: HashMap<Vec<u8>, usize>,
    /// kid → its index in `keys`.
    kids: HashMap<String, usize>,
    ignored: Vec<IgnoredKey>,
}

impl State {
    fn add(
        &mut self,
        doc: &mut BundleDocument,
        index: usize,
        entry: &Value,
    ) -> Result<(), KeyError> {
        let obj = entry.as_object().ok_or(KeyError::NotAnObject)?;
        let key_use = str_member(obj, "use")?;
        if key_use != X509_SVID_USE && key_use != JWT_SVID_USE {
            self.ignore(
                index,
                IgnoreReason::UnknownUse {
                    value: excerpt(key_use, 64),
                },
            );
            return Ok(());
        }
        let kty = str_member(obj, "kty")?;
        if kty != "EC" && kty != "RSA" {
            self.ignore(
                index,
                IgnoreReason::UnknownKeyType {
                    kty: excerpt(kty, 32),
                },
            );
            return Ok(());
        }
        if key_use == JWT_SVID_USE {
            self.add_jwt(doc, index, kty, obj)
        } else {
            self.add_x509(doc, index, kty, obj)
        }
    }

    fn add_jwt(
        &mut self,
        doc: &mut BundleDocument,
        index: usize,
        kty: &str,
        obj: &Map<String, Value>,
    ) -> Result<(), KeyError> {
        let kid = str_member(obj, "kid")?;
        if kid.is_empty() {
            return Err(KeyError::EmptyKid);
        }
        if let Some(&first_index) = self.kids.get(kid) {
            return Err(KeyError::DuplicateKid {
                kid: excerpt(kid, 128),
                first_index,
            });
        }
        let key = known_key(kty, obj)?;
        self.kids.insert(kid.to_owned(), index);
        doc.jwt_authorities.push(JwtAuthority {
            kid: kid.to_owned(),
            key,
        });
        Ok(())
    }

    fn add_x509(
        &mut self,
        doc: &mut BundleDocument,
        index: usize,
        kty: &str,
        obj: &Map<String, Value>,
    ) -> Result<(), KeyError> {
        let key = known_key(kty, obj)?;
        let der = single_x5c(obj)?;
        if certificate_key(&der)? != key {
            return Err(KeyError::CertificateKeyMismatch);
        }
        if let Some(&first_index) = self.certs.get(&der) {
            self.ignore(index, IgnoreReason::DuplicateCertificate { first_index });
            return Ok(());
        }
        self.certs.insert(der.clone(), index);
        doc.x509_authorities.push(der);
        Ok(())
    }

    fn ignore(&mut self, index: usize, reason: IgnoreReason) {
        self.ignored.push(IgnoredKey { index, reason });
    }
}

/// Key parameters for a `kty` already known to be `EC` or `RSA`.
fn known_key(kty: &str, obj: &Map<String, Value>) -> Result<PublicJwk, KeyError> {
    PublicJwk::from_json_members(kty, obj)?.ok_or_else(|| KeyError::UnsupportedKeyType {
        kty: excerpt(kty, 32),
    })
}

/// The DER of the one certificate in `x5c` (X509-SVID §6.1: exactly one).
fn single_x5c(obj: &Map<String, Value>) -> Result<Vec<u8>, KeyError> {
    let certs = match obj.get("x5c") {
        None => return Err(KeyError::MissingMember { name: "x5c" }),
        Some(Value::Array(certs)) => certs,
        Some(_) => return Err(KeyError::X5cNotArray),
    };
    let [cert] = certs.as_slice() else {
        return Err(KeyError::X5cCount { count: certs.len() });
    };
    let text = cert.as_str().ok_or(KeyError::X5cNotString)?;
    STANDARD.decode(text).map_err(|e| KeyError::X5cBase64 {
        reason: e.to_string(),
    })
}

/// An optional non-negative integer member; `null` counts as absent. `Err` carries an excerpt
/// of the offending value.
fn optional_u64(obj: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| excerpt(&v.to_string(), 64)),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
