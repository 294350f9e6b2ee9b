//! [`Session`]: the xDS state-of-the-world protocol of one SDS stream, as a pure state
//! machine fed with requests and catalogs (no I/O, no clock), so every rule is unit-tested.

use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use prost::Name;

use super::catalog::{Catalog, scrub, to_any};
use super::error::SdsError;

/// Most resource names one request may carry.
pub const MAX_RESOURCE_NAMES: usize = 256;
/// Longest resource name accepted, in bytes (a SPIFFE ID may be 2048).
pub const MAX_RESOURCE_NAME_LEN: usize = 2048;
/// Longest client error message logged from a NACK, in characters.
const LOGGED_ERROR_LEN: usize = 512;

/// The `type_url` of SDS resources.
pub fn secret_type_url() -> String {
    Secret::type_url()
}

/// Checks a request's type and bounds; its resource names sorted, distinct, without empty
/// ones (an empty result means "every SVID and bundle").
pub(super) fn requested_names(request: &DiscoveryRequest) -> Result<Vec<String>, SdsError> {
    let expected = secret_type_url();
    if !request.type_url.is_empty() && request.type_url != expected {
        return Err(SdsError::WrongType {
            type_url: request.type_url.chars().take(256).collect(),
            expected,
        });
    }
    let count = request.resource_names.len();
    if count > MAX_RESOURCE_NAMES {
        return Err(SdsError::TooManyNames {
            count,
            max: MAX_RESOURCE_NAMES,
        });
    }
    if request
        .resource_names
        .iter()
        .any(|n| n.len() > MAX_RESOURCE_NAME_LEN)
    {
        return Err(SdsError::NameTooLong {
            max: MAX_RESOURCE_NAME_LEN,
        });
    }
    let mut names: Vec<String> = request
        .resource_names
        .iter()
        .filter(|n| !n.is_empty())
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// A response carrying `secrets`.
pub(super) fn response(
    version_info: String,
    nonce: String,
    secrets: &[Secret],
) -> DiscoveryResponse {
    DiscoveryResponse {
        version_info,
        resources: secrets.iter().map(to_any).collect(),
        type_url: secret_type_url(),
        nonce,
        ..Default::default()
    }
}

/// Secrets kept after sending (to compare with the next); key bytes wiped on drop and never
/// printed (`Debug` shows the names).
#[derive(PartialEq)]
struct Kept(Vec<Secret>);

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|s| &s.name))
            .finish()
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(scrub);
    }
}

/// One stream's protocol state.
#[derive(Debug)]
pub(super) struct Session {
    /// Distinguishes this stream's nonces from other streams'.
    tag: u64,
    /// The subscription (normalized); `None` until the first request.
    names: Option<Vec<String>>,
    /// The resources of the last response.
    sent: Option<Kept>,
    /// The last response's version (0: none sent).
    version: u64,
    /// The last response's nonce.
    nonce: Option<String>,
}

impl Session {
    /// A session whose nonces start with `tag` (random per stream in the agent).
    pub(super) fn new(tag: u64) -> Self {
        Self {
            tag,
            names: None,
            sent: None,
            version: 0,
            nonce: None,
        }
    }

    /// Whether a first request has arrived (before that, updates send nothing).
    pub(super) fn subscribed(&self) -> bool {
        self.names.is_some()
    }

    /// A request from the client, answered from `catalog` when it opens or changes the
    /// subscription. A stale nonce is ignored; an ACK or NACK that keeps the subscription
    /// gets no answer (a NACK is logged, and what it rejected is not resent).
    pub(super) fn on_request(
        &mut self,
        request: &DiscoveryRequest,
        catalog: &Catalog,
    ) -> Result<Option<DiscoveryResponse>, SdsError> {
        let names = requested_names(request)?;
        if let Some(expected) = &self.nonce
            && request.response_nonce != *expected
        {
            tracing::debug!(
                nonce = %request.response_nonce.chars().take(64).collect::<String>(),
                expected = %expected,
                "ignoring an SDS request with a stale nonce"
            );
            return Ok(None);
        }
        if let Some(detail) = &request.error_detail {
            tracing::warn!(
                rejected_version = %request.version_info.chars().take(64).collect::<String>(),
                current_version = self.version,
                code = detail.code,
                error = %detail.message.chars().take(LOGGED_ERROR_LEN).collect::<String>(),
                "the SDS client rejected secrets (NACK); they are not resent"
            );
        }
        if self.names.as_ref() == Some(&names) {
            return Ok(None);
        }
        self.names = Some(names);
        self.respond(catalog, true)
    }

    /// A new state: answered only when the subscribed resources differ from the last sent.
    pub(super) fn on_update(
        &mut self,
        catalog: &Catalog,
    ) -> Result<Option<DiscoveryResponse>, SdsError> {
        if !self.subscribed() {
            return Ok(None);
        }
        self.respond(catalog, false)
    }

    fn respond(
        &mut self,
        catalog: &Catalog,
        always: bool,
    ) -> Result<Option<DiscoveryResponse>, SdsError> {
        let names = self.names.as_deref().unwrap_or_default();
        let secrets = Kept(catalog.select(names)?);
        if !always && self.sent.as_ref() == Some(&secrets) {
            return Ok(None);
        }
        self.version += 1;
        let nonce = format!("{:016x}-{}", self.tag, self.version);
        let out = response(self.version.to_string(), nonce.clone(), &secrets.0);
        self.sent = Some(secrets);
        self.nonce = Some(nonce);
        Ok(Some(out))
    }
}
