//! The one error enum of registration.

use tessera_proto::identity::IdError;

/// Why an entry was refused. Messages name the offending field (as in the wire `Entry`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// A required field is empty.
    #[error("{field} is required")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A SPIFFE ID field does not parse.
    #[error("{field}: invalid SPIFFE ID: {source}")]
    InvalidSpiffeId {
        /// `spiffe_id` or `parent_id`.
        field: &'static str,
        /// The parse error.
        source: IdError,
    },
    /// A SPIFFE ID belongs to another trust domain.
    #[error("{field}: {id} is not in trust domain {trust_domain}")]
    ForeignTrustDomain {
        /// `spiffe_id` or `parent_id`.
        field: &'static str,
        /// The ID as given.
        id: String,
        /// Our trust domain.
        trust_domain: String,
    },
    /// `spiffe_id` is the bare trust domain ID (workloads need a path).
    #[error("spiffe_id: {id} has no path; a workload ID needs one (e.g. {id}/web)")]
    MissingPath {
        /// The ID as given.
        id: String,
    },
    /// `spiffe_id` is reserved for the server itself.
    #[error("spiffe_id: {id} is reserved for the Tessera server")]
    Reserved {
        /// The ID as given.
        id: String,
    },
    /// `parent_id` equals `spiffe_id`: an entry cannot be its own parent.
    #[error("parent_id: an entry cannot be its own parent ({id})")]
    SelfParent {
        /// The ID.
        id: String,
    },
    /// A selector is invalid.
    #[error("selectors[{index}]: {source}")]
    InvalidSelector {
        /// Position in the request.
        index: usize,
        /// Why.
        source: IdError,
    },
    /// A list has too many items.
    #[error("{field}: {len} items, at most {max} allowed")]
    TooMany {
        /// The field.
        field: &'static str,
        /// How many were given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A string field is too long.
    #[error("{field}: {len} bytes, at most {max} allowed")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A TTL or timestamp is negative.
    #[error("{field}: {value} is negative")]
    Negative {
        /// The field.
        field: &'static str,
        /// The value given.
        value: i64,
    },
    /// A TTL exceeds the CA's lifetime (an SVID cannot outlive its signer).
    #[error("{field}: {value}s exceeds the maximum of {max}s (the CA TTL)")]
    TtlTooLong {
        /// The field.
        field: &'static str,
        /// Seconds given.
        value: i64,
        /// The limit in seconds.
        max: u64,
    },
    /// A DNS name is invalid.
    #[error("dns_names[{index}]: {name:?} is not a valid DNS name: {reason}")]
    InvalidDnsName {
        /// Position in the request.
        index: usize,
        /// The name (truncated to 64 bytes).
        name: String,
        /// Why.
        reason: tessera_proto::dns_name::DnsNameError,
    },
    /// A federated trust domain name is invalid.
    #[error("federates_with[{index}]: invalid trust domain: {source}")]
    InvalidFederatesWith {
        /// Position in the request.
        index: usize,
        /// Why.
        source: IdError,
    },
    /// `federates_with` names our own trust domain.
    #[error("federates_with[{index}]: {trust_domain} is this server's own trust domain")]
    FederatesWithSelf {
        /// Position in the request.
        index: usize,
        /// Our trust domain.
        trust_domain: String,
    },
    /// `hint` has control characters.
    #[error("hint: control characters are not allowed")]
    HintControlChar,
    /// An entry ID is malformed.
    #[error("id: {reason}")]
    InvalidEntryId {
        /// Why.
        reason: String,
    },
}
