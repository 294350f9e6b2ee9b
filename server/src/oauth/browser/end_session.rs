//! The request of OpenID Connect RP-Initiated Logout 1.0 (§2, §3) at `/oauth2/logout`:
//! `id_token_hint` (an ID token this server signed; expired ones are accepted), `client_id`
//! (must match the hint's `aud`), `post_logout_redirect_uri` (exactly one registered for that
//! client: never an open redirect) and `state`. Every refusal is a page, never a redirect.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::authorize::{Params, Repeated};
use super::flow::AUDIT;
use super::pages::{self, LogoutContext};
use super::post::unavailable;
use super::{BrowserFlows, BrowserHost, redirect};

/// The parameters that make a request an RP-initiated logout (`ui_locales` and
/// `logout_hint` are accepted and ignored).
pub(super) const REQUEST_PARAMS: [&str; 6] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
];

/// Longest `state` echoed back.
const MAX_STATE: usize = 2048;

/// A validated logout request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct EndSession {
    /// The client that asked (from `client_id` or the hint's `aud`) and its display name.
    pub(super) client: Option<(String, String)>,
    /// A registered post-logout redirect URI.
    pub(super) redirect_uri: Option<String>,
    /// The client's `state`, echoed on the redirect.
    pub(super) state: Option<String>,
}

impl EndSession {
    /// The confirmation form's context: the client named, the request carried along.
    pub(super) fn form(&self) -> LogoutContext<'_> {
        let mut fields = Vec::new();
        if let Some((id, _)) = &self.client {
            fields.push(("client_id", id.as_str()));
        }
        if let Some(uri) = &self.redirect_uri {
            fields.push(("post_logout_redirect_uri", uri.as_str()));
            if let Some(state) = &self.state {
                fields.push(("state", state.as_str()));
            }
        }
        LogoutContext {
            client_name: self.client.as_ref().map(|(id, name)| {
                if name.is_empty() {
                    id.as_str()
                } else {
                    name.as_str()
                }
            }),
            fields,
            form_target: self.redirect_uri.as_deref().and_then(redirect::csp_source),
        }
    }

    /// Where the browser goes after signing out: the redirect URI with `state`.
    pub(super) fn location(&self) -> Option<String> {
        let uri = self.redirect_uri.as_deref()?;
        Some(match &self.state {
            Some(state) => redirect::with_params(uri, &[("state", state)]),
            None => uri.to_owned(),
        })
    }
}

/// Whether `params` carry an RP-initiated logout request.
pub(super) fn is_request(params: &Params) -> bool {
    REQUEST_PARAMS.iter().any(|p| params.one(p) != Ok(None))
}

/// Why a logout request was refused (always answered with a page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refused {
    /// The request is invalid; the message is shown.
    Request(String),
    /// The client store failed (logged); try again later.
    Unavailable,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::Request(message) => {
                pages::logout_error(StatusCode::BAD_REQUEST, &message).into_response()
            }
            Self::Unavailable => unavailable(),
        }
    }
}

fn refuse(message: &str) -> Refused {
    tracing::info!(target: AUDIT, event = "oauth_logout_refused", reason = %message);
    Refused::Request(message.to_owned())
}

fn one<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, Refused> {
    params
        .one(name)
        .map_err(|Repeated| refuse(&format!("The request repeats {name}.")))
}

/// The client an ID token was issued to: `aud` when it names one client, else `azp` when
/// `aud` contains it.
fn audience(claims: &Map<String, Value>) -> Option<&str> {
    match claims.get("aud")? {
        Value::String(aud) => Some(aud),
        Value::Array(auds) => match auds.as_slice() {
            [Value::String(aud)] => Some(aud),
            _ => {
                let azp = claims.get("azp")?.as_str()?;
                auds.iter().any(|a| a.as_str() == Some(azp)).then_some(azp)
            }
        },
        _ => None,
    }
}

/// Validates the logout request in `params` (a refusal is answered with an error page).
pub(super) async fn validate<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    params: &Params,
) -> Result<EndSession, Refused> {
    let hint = one(params, "id_token_hint")?;
    let client_id = one(params, "client_id")?;
    let uri = one(params, "post_logout_redirect_uri")?;
    let state = one(params, "state")?;
    if state.is_some_and(|s| s.len() > MAX_STATE) {
        return Err(refuse("The state is too long."));
    }
    let hinted = match hint {
        None => None,
        Some(token) => {
            let claims = host.verify_id_token_hint(token);
            let aud = claims.as_ref().and_then(audience).map(str::to_owned);
            Some(aud.ok_or_else(|| {
                refuse("The id_token_hint is not an ID token issued by this server.")
            })?)
        }
    };
    let client_id = match (client_id, hinted.as_deref()) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err(refuse(
                "The client_id does not match the id_token_hint's audience.",
            ));
        }
        (given, hinted) => given.or(hinted),
    };
    let client = match client_id {
        None => None,
        Some(id) => match flows.clients.client(id).await {
            Ok(Some(c)) if c.enabled => Some(c),
            Ok(_) => return Err(refuse("The client is unknown or disabled.")),
            Err(detail) => {
                tracing::error!(%detail, "client store unavailable");
                return Err(Refused::Unavailable);
            }
        },
    };
    let redirect_uri = match (uri, &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(refuse(
                "A post_logout_redirect_uri needs an id_token_hint or a client_id.",
            ));
        }
        (Some(uri), Some(c)) => {
            if !c.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(refuse(
                    "The post_logout_redirect_uri is not registered for this client.",
                ));
            }
            Some(uri.to_owned())
        }
    };
    Ok(EndSession {
        client: client.map(|c| (c.client_id, c.name)),
        redirect_uri,
        state: state.map(str::to_owned),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_audience_is_the_one_client_or_the_authorized_party() {
        assert_eq!(audience(&claims(json!({"aud": "web"}))), Some("web"));
        assert_eq!(audience(&claims(json!({"aud": ["web"]}))), Some("web"));
        let two = json!({"aud": ["web", "api"], "azp": "web"});
        assert_eq!(audience(&claims(two)), Some("web"));
        let stranger = json!({"aud": ["web", "api"], "azp": "evil"});
        assert_eq!(audience(&claims(stranger)), None);
        assert_eq!(audience(&claims(json!({"aud": ["web", "api"]}))), None);
        assert_eq!(audience(&claims(json!({"aud": 7}))), None);
        assert_eq!(audience(&claims(json!({}))), None);
    }

    #[test]
    fn the_location_carries_state_and_the_form_carries_the_request() {
        let end = EndSession {
            client: Some(("web".into(), String::new())),
            redirect_uri: Some("https://app.example/bye?x=1".into()),
            state: Some("s 1".into()),
        };
        assert_eq!(
            end.location().as_deref(),
            Some("https://app.example/bye?x=1&state=s+1")
        );
        let form = end.form();
        assert_eq!(form.client_name, Some("web"));
        assert_eq!(form.form_target.as_deref(), Some("https://app.example"));
        assert_eq!(
            form.fields,
            [
                ("client_id", "web"),
                ("post_logout_redirect_uri", "https://app.example/bye?x=1"),
                ("state", "s 1"),
            ]
        );
        assert_eq!(EndSession::default().location(), None);
    }
}
