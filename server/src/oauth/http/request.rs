//! Reading OAuth requests: content type, body limit, form parameters, client credentials.

use std::collections::HashMap;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio_stream::StreamExt as _;
use zeroize::Zeroizing;

use super::error::{ErrorCode, OAuthError};
use super::ports::{JWT_BEARER_ASSERTION, PresentedCredentials};

/// Parameters that may legitimately repeat (RFC 8707 `resource`, token exchange `audience`).
const REPEATABLE: &[&str] = &["resource", "audience"];

/// A parsed `application/x-www-form-urlencoded` body.
pub(crate) struct Form {
    single: HashMap<String, Zeroizing<String>>,
    repeated: HashMap<String, Vec<String>>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets or tokens: only the names are shown.
        f.debug_struct("Form")
            .field("params", &self.single.keys().collect::<Vec<_>>())
            .field("repeated", &self.repeated.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Form {
    /// The value of a single-valued parameter; empty values count as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.single
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// All values of a repeatable parameter.
    pub(crate) fn all(&self, name: &str) -> &[String] {
        self.repeated.get(name).map_or(&[], Vec::as_slice)
    }
}

const BAD_CONTENT_TYPE: OAuthError = OAuthError::new(
    ErrorCode::InvalidRequest,
    "content type must be application/x-www-form-urlencoded",
);

/// Checks the content type, reads at most `limit` bytes and parses the form.
pub(crate) async fn read_form(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    deadline: std::time::Duration,
) -> Result<Form, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or(BAD_CONTENT_TYPE)?;
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(BAD_CONTENT_TYPE);
    }
    let declared_too_large = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64);
    let too_large = OAuthError::new(ErrorCode::PayloadTooLarge, "request body too large");
    if declared_too_large {
        return Err(too_large);
    }
    let mut bytes = Zeroizing::new(Vec::new());
    let mut chunks = body.into_data_stream();
    // One deadline for the whole body: a client trickling bytes cannot hold the request
    // (and its connection) open for long (issue 11 §12).
    let read = async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|_| {
                OAuthError::new(ErrorCode::InvalidRequest, "request body could not be read")
            })?;
            if bytes.len().saturating_add(chunk.len()) > limit {
                return Err(too_large);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(OAuthError::new(
                ErrorCode::RequestTimeout,
                "request body not received in time",
            ));
        }
    }
    parse_form(&bytes)
}

/// Parses a form body; a repeated single-valued parameter is `invalid_request` (RFC 6749 §3.2).
/// The caller's address (unspecified when the transport did not record one).
pub fn source_address(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.ip())
}

pub(crate) fn parse_form(bytes: &[u8]) -> Result<Form, OAuthError> {
    let mut form = Form {
        single: HashMap::new(),
        repeated: HashMap::new(),
    };
    for (name, value) in form_urlencoded::parse(bytes) {
        if REPEATABLE.contains(&name.as_ref()) {
            if !value.is_empty() {
                form.repeated
                    .entry(name.into_owned())
                    .or_default()
                    .push(value.into_owned());
            }
            continue;
        }
        if form.single.contains_key(name.as_ref()) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "a request parameter was repeated",
            ));
        }
        form.single
            .insert(name.into_owned(), Zeroizing::new(value.into_owned()));
    }
    Ok(form)
}

const BAD_CLIENT: OAuthError =
    OAuthError::new(ErrorCode::InvalidClient, "client authentication failed");

const TWO_METHODS: OAuthError = OAuthError::new(
    ErrorCode::InvalidRequest,
    "more than one client authentication method used",
);

/// Extracts the presented client credentials: `client_secret_basic`, `client_secret_post`,
/// a JWT client assertion (RFC 7523) or, with only a `client_id`, the TLS client certificate
/// (RFC 8705). More than one method is `invalid_request`; none is `invalid_client`.
pub(crate) fn credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<PresentedCredentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(parse_basic(value.to_str().map_err(|_| BAD_CLIENT)?)?),
    };
    let post_secret = form.get("client_secret");
    let assertion = form.get("client_assertion");
    let assertion_type = form.get("client_assertion_type");
    let form_client_id = form.get("client_id");
    let methods = usize::from(basic.is_some())
        + usize::from(post_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(TWO_METHODS);
    }
    if let Some((client_id, secret)) = basic {
        if form_client_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(PresentedCredentials::Secret { client_id, secret });
    }
    if let Some(secret) = post_secret {
        let client_id = form_client_id.ok_or(BAD_CLIENT)?;
        return Ok(PresentedCredentials::Secret {
            client_id: client_id.to_owned(),
            secret: Zeroizing::new(secret.to_owned()),
        });
    }
    if let Some(assertion) = assertion {
        if assertion_type != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "unsupported client_assertion_type",
            ));
        }
        return Ok(PresentedCredentials::Assertion {
            client_id: form_client_id.map(str::to_owned),
            assertion: Zeroizing::new(assertion.to_owned()),
        });
    }
    if assertion_type.is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "client_assertion_type without client_assertion",
        ));
    }
    match form_client_id {
        Some(client_id) => Ok(PresentedCredentials::Certificate {
            client_id: client_id.to_owned(),
        }),
        None => Err(BAD_CLIENT),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &str) -> Result<(String, Zeroizing<String>), OAuthError> {
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(BAD_CLIENT)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BAD_CLIENT);
    }
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| BAD_CLIENT)?);
    let decoded = std::str::from_utf8(&decoded).map_err(|_| BAD_CLIENT)?;
    let (id, secret) = decoded.split_once(':').ok_or(BAD_CLIENT)?;
    let client_id = form_decode(id).ok_or(BAD_CLIENT)?;
    let secret = Zeroizing::new(form_decode(secret).ok_or(BAD_CLIENT)?);
    if client_id.is_empty() || secret.is_empty() {
        return Err(BAD_CLIENT);
    }
    Ok((client_id, secret))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_handles_plus_and_percent() {
        assert_eq!(form_decode("a+b%3Ac%25").as_deref(), Some("a b:c%"));
        assert_eq!(form_decode("bad%zz"), None);
        assert_eq!(form_decode("short%4"), None);
    }

    #[test]
    fn repeated_single_parameter_is_invalid_request() {
        let err = parse_form(b"grant_type=a&grant_type=b").err();
        assert_eq!(err.map(|e| e.code), Some(ErrorCode::InvalidRequest));
        let form = parse_form(b"resource=a&resource=b").ok();
        assert_eq!(form.map(|f| f.all("resource").len()), Some(2));
    }
}
