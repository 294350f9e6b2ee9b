//! Entry validation and normalization.

use std::time::Duration;

use tessera_proto::identity::{Selector, SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::{Entry, Selector as WireSelector};

use super::RegistrationError;
use super::dns::normalize_dns_name;

/// Most selectors on one entry.
pub const MAX_SELECTORS: usize = 64;
/// Most DNS names on one entry.
pub const MAX_DNS_NAMES: usize = 64;
/// Most federated trust domains on one entry.
pub const MAX_FEDERATES_WITH: usize = 64;
/// Longest hint, in bytes.
pub const MAX_HINT_LEN: usize = 256;

/// What entries are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Our trust domain: every `spiffe_id` and `parent_id` must be in it.
    pub trust_domain: TrustDomain,
    /// `spiffe://<td>/tessera/server`: the parent of node aliases.
    pub server_id: SpiffeId,
    /// Longest SVID TTL (the CA TTL).
    pub max_ttl: Duration,
}

impl Policy {
    /// The policy of a server for `trust_domain` whose CAs live `max_ttl`.
    pub fn new(trust_domain: TrustDomain, max_ttl: Duration) -> Self {
        Self {
            server_id: server_id(&trust_domain),
            trust_domain,
            max_ttl,
        }
    }
}

/// `spiffe://<td>/tessera/server`: the server's own ID, parent of node aliases.
pub fn server_id(td: &TrustDomain) -> SpiffeId {
    let id = SpiffeId::for_trust_domain(td);
    // "/tessera/server" is a valid path, so this cannot fail; fall back to the bare ID.
    SpiffeId::new(td, "/tessera/server").unwrap_or(id)
}

fn spiffe_id(
    field: &'static str,
    raw: &str,
    policy: &Policy,
) -> Result<SpiffeId, RegistrationError> {
    if raw.is_empty() {
        return Err(RegistrationError::Missing { field });
    }
    let id = SpiffeId::parse(raw)
        .map_err(|source| RegistrationError::InvalidSpiffeId { field, source })?;
    if !id.is_member_of(&policy.trust_domain) {
        return Err(RegistrationError::ForeignTrustDomain {
            field,
            id: raw.to_string(),
            trust_domain: policy.trust_domain.to_string(),
        });
    }
    Ok(id)
}

fn bounded<T>(field: &'static str, items: &[T], max: usize) -> Result<(), RegistrationError> {
    if items.len() > max {
        return Err(RegistrationError::TooMany {
            field,
            len: items.len(),
            max,
        });
    }
    Ok(())
}

fn ttl(field: &'static str, value: i32, policy: &Policy) -> Result<(), RegistrationError> {
    if value < 0 {
        return Err(RegistrationError::Negative {
            field,
            value: value.into(),
        });
    }
    let max = policy.max_ttl.as_secs();
    if u64::from(value.unsigned_abs()) > max {
        return Err(RegistrationError::TtlTooLong {
            field,
            value: value.into(),
            max,
        });
    }
    Ok(())
}

/// Checks `entry` against `policy` and returns its stored form: selectors sorted and
/// deduplicated, DNS names lowercased and deduplicated (order kept: the first is the
/// default), `federates_with` as sorted bare trust domain names. `id`, `revision` and
/// `created_at` are passed through untouched (the caller owns them).
pub fn validate(entry: &Entry, policy: &Policy) -> Result<Entry, RegistrationError> {
    let id = spiffe_id("spiffe_id", &entry.spiffe_id, policy)?;
    let parent = spiffe_id("parent_id", &entry.parent_id, policy)?;
    if id.path().is_empty() {
        return Err(RegistrationError::MissingPath {
            id: entry.spiffe_id.clone(),
        });
    }
    if id == policy.server_id {
        return Err(RegistrationError::Reserved {
            id: entry.spiffe_id.clone(),
        });
    }
    if id == parent {
        return Err(RegistrationError::SelfParent {
            id: entry.spiffe_id.clone(),
        });
    }

    if entry.selectors.is_empty() {
        return Err(RegistrationError::Missing { field: "selectors" });
    }
    bounded("selectors", &entry.selectors, MAX_SELECTORS)?;
    let mut selectors = entry
        .selectors
        .iter()
        .enumerate()
        .map(|(index, s)| {
            Selector::new(&s.r#type, &s.value)
                .map_err(|source| RegistrationError::InvalidSelector { index, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    selectors.sort();
    selectors.dedup();

    ttl("x509_svid_ttl", entry.x509_svid_ttl, policy)?;
    ttl("jwt_svid_ttl", entry.jwt_svid_ttl, policy)?;
    if entry.expires_at < 0 {
        return Err(RegistrationError::Negative {
            field: "expires_at",
            value: entry.expires_at,
        });
    }

    bounded("dns_names", &entry.dns_names, MAX_DNS_NAMES)?;
    let mut dns_names: Vec<String> = Vec::with_capacity(entry.dns_names.len());
    for (index, name) in entry.dns_names.iter().enumerate() {
        let name =
            normalize_dns_name(name).map_err(|reason| RegistrationError::InvalidDnsName {
                index,
                name: name.chars().take(64).collect(),
                reason,
            })?;
        if !dns_names.contains(&name) {
            dns_names.push(name);
        }
    }

    bounded("federates_with", &entry.federates_with, MAX_FEDERATES_WITH)?;
    let mut federates_with = Vec::with_capacity(entry.federates_with.len());
    for (index, raw) in entry.federates_with.iter().enumerate() {
        let td = TrustDomain::from_id_or_name(raw)
            .map_err(|source| RegistrationError::InvalidFederatesWith { index, source })?;
        if td == policy.trust_domain {
            return Err(RegistrationError::FederatesWithSelf {
                index,
                trust_domain: td.to_string(),
            });
        }
        federates_with.push(td.into_string());
    }
    federates_with.sort();
    federates_with.dedup();

    if entry.hint.len() > MAX_HINT_LEN {
        return Err(RegistrationError::TooLong {
            field: "hint",
            len: entry.hint.len(),
            max: MAX_HINT_LEN,
        });
    }
    if entry.hint.chars().any(char::is_control) {
        return Err(RegistrationError::HintControlChar);
    }

    Ok(Entry {
        spiffe_id: id.into_string(),
        parent_id: parent.into_string(),
        selectors: selectors
            .into_iter()
            .map(|s| WireSelector {
                r#type: s.kind().to_string(),
                value: s.value().to_string(),
            })
            .collect(),
        dns_names,
        federates_with,
        ..entry.clone()
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
