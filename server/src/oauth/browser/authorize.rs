//! Validation of an authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 9700, OIDC
//! Core §3.1.2.1) as a plain function. Until the redirect URI is trusted every error is
//! shown on a page; after that errors go back to the client.

use std::collections::HashMap;

use crate::oauth::clients::Client;

use super::redirect;

/// Longest `state` / `nonce` accepted.
const MAX_ECHO: usize = 2048;

/// Query or form parameters, each name with every value it was given.
#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(text: &[u8]) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(text) {
            map.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Self(map)
    }

    /// Removes and returns the one value of `name` (for secrets: the caller wraps it).
    pub fn take(&mut self, name: &str) -> Option<String> {
        let mut values = self.0.remove(name)?;
        (values.len() == 1).then(|| values.pop()).flatten()
    }

    /// Every non-empty value of `name` (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .map(|v| {
                v.iter()
                    .map(String::as_str)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one value of `name`: `Ok(None)` if absent or empty, `Err` if repeated.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        match self.0.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok((!v.is_empty()).then_some(v.as_str())),
            Some(_) => Err(Repeated),
        }
    }
}

/// A parameter given more than once (RFC 6749 §3.1: parameters must not repeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// What `prompt` asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: authenticate again even with a session.
    pub login: bool,
    /// `consent`: ask for consent even if remembered.
    pub consent: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Its display name (shown escaped).
    pub client_name: String,
    /// First-party clients skip consent.
    pub first_party: bool,
    /// The trusted redirect URI.
    pub redirect_uri: String,
    /// Requested scopes (each allowed for the client), in order, without duplicates.
    pub scopes: Vec<String>,
    /// The client's `state`, echoed.
    pub state: Option<String>,
    /// The OIDC `nonce`.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// `prompt`.
    pub prompt: Prompt,
    /// Not an authorization: after sign-in, go back to this URL of ours (the device page).
    pub resume: Option<String>,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The redirect URI is not trusted: shown on a page (400), never redirected.
    Page(String),
    /// Sent back to the client's (trusted) redirect URI.
    Redirect(ErrorRedirect),
}

/// An error response for the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// Where to.
    pub redirect_uri: String,
    /// RFC 6749 §4.1.2.1 error code.
    pub error: &'static str,
    /// Human-readable description (no secrets).
    pub description: String,
    /// The client's `state`.
    pub state: Option<String>,
}

fn page(msg: &str) -> AuthorizeError {
    AuthorizeError::Page(msg.to_owned())
}

/// The `client_id` of a request (needed before the client is looked up).
pub fn client_id(params: &Params) -> Result<&str, AuthorizeError> {
    match params.one("client_id") {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(page("The request has no client_id.")),
        Err(Repeated) => Err(page("The request repeats client_id.")),
    }
}

fn is_challenge(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Validates `params` for `client` (`None`: no such client).
pub fn validate(
    params: &Params,
    client: Option<&Client>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let client = match client {
        Some(c) if c.enabled => c,
        _ => return Err(page("Unknown or disabled client.")),
    };
    let requested = params
        .one("redirect_uri")
        .map_err(|Repeated| page("The request repeats redirect_uri."))?;
    let redirect_uri = redirect::resolve(&client.redirect_uris, requested)
        .ok_or_else(|| page("The redirect_uri is not registered for this client."))?;
    // From here on the redirect URI is trusted.
    let state = params.one("state").ok().flatten().map(str::to_owned);
    let fail = |error: &'static str, description: &str| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        })
    };
    let one = |name: &str| {
        params
            .one(name)
            .map_err(|Repeated| fail("invalid_request", &format!("{name} is repeated")))
    };
    let state_checked = one("state")?;
    if state_checked.is_some_and(|s| s.len() > MAX_ECHO) {
        return Err(fail("invalid_request", "state is too long"));
    }
    match one("response_type")? {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        ));
    }
    if one("request")?.is_some() || one("request_uri")?.is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    let code_challenge = match (one("code_challenge")?, one("code_challenge_method")?) {
        (None, _) => {
            return Err(fail(
                "invalid_request",
                "code_challenge (PKCE S256) is required",
            ));
        }
        (Some(_), method) if method != Some("S256") => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        (Some(c), _) if !is_challenge(c) => {
            return Err(fail("invalid_request", "malformed code_challenge"));
        }
        (Some(c), _) => c.to_owned(),
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in one("scope")?.unwrap_or_default().split(' ') {
        if scope.is_empty() || scopes.iter().any(|s| s == scope) {
            continue;
        }
        if !client.scopes.iter().any(|s| s == scope) {
            return Err(fail(
                "invalid_scope",
                "a requested scope is not allowed for this client",
            ));
        }
        scopes.push(scope.to_owned());
    }
    let nonce = one("nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHO) {
        return Err(fail("invalid_request", "nonce is too long"));
    }
    let mut prompt = Prompt::default();
    for value in one("prompt")?.unwrap_or_default().split(' ') {
        match value {
            "" | "select_account" => {}
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => return Err(fail("invalid_request", "unknown prompt value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        first_party: client.first_party,
        redirect_uri: redirect_uri.clone(),
        scopes,
        state,
        nonce,
        code_challenge,
        prompt,
        resume: None,
    })
}
