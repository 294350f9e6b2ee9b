//! What the token endpoint records per request (`tessera_server_oauth_token_*`): the grant
//! type and authentication method as presented, the client once authenticated, and `ok` or
//! the OAuth error code answered.

use axum::http::{Extensions, HeaderMap, header};
use axum::response::Response;

use crate::metrics::{AuthMethod, GrantType, TokenResult};
use crate::oauth::device::DEVICE_CODE_GRANT;
use crate::oauth::exchange::TOKEN_EXCHANGE_GRANT;

use super::ports::ClientCertificate;
use super::request::Form;
use super::{code, grant};

/// The `error` code of an OAuth error response, as a response extension (never sent): the
/// metrics read it instead of parsing the body.
#[derive(Debug, Clone, Copy)]
pub(super) struct ErrorCodeTag(pub(super) &'static str);

/// The label for a `grant_type` parameter.
pub(super) fn grant_type_of(value: Option<&str>) -> GrantType {
    match value {
        Some(grant::CLIENT_CREDENTIALS) => GrantType::ClientCredentials,
        Some(code::AUTHORIZATION_CODE) => GrantType::AuthorizationCode,
        Some(grant::REFRESH_TOKEN) => GrantType::RefreshToken,
        Some(DEVICE_CODE_GRANT) => GrantType::DeviceCode,
        Some(TOKEN_EXCHANGE_GRANT) => GrantType::TokenExchange,
        _ => GrantType::Other,
    }
}

/// The authentication method a request presents (read cheaply: nothing is parsed or
/// verified here; several methods at once is `invalid`, as authentication will find).
pub(super) fn auth_method_of(headers: &HeaderMap, form: &Form, ext: &Extensions) -> AuthMethod {
    let basic = headers.contains_key(header::AUTHORIZATION);
    let post = form.get("client_secret").is_some();
    let assertion = form.get("client_assertion").is_some();
    match (basic, post, assertion) {
        (true, false, false) => AuthMethod::ClientSecretBasic,
        (false, true, false) => AuthMethod::ClientSecretPost,
        (false, false, true) => AuthMethod::PrivateKeyJwt,
        (false, false, false) if form.get("client_id").is_some() => {
            if ext.get::<ClientCertificate>().is_some() {
                AuthMethod::TlsClientAuth
            } else {
                AuthMethod::None
            }
        }
        _ => AuthMethod::Invalid,
    }
}

/// `ok` for a success, else the error code the response carries.
pub(super) fn result_of(response: &Response) -> TokenResult {
    match response.extensions().get::<ErrorCodeTag>() {
        Some(tag) => TokenResult::refused(tag.0),
        None if response.status().is_success() => TokenResult::OK,
        None => TokenResult::refused("server_error"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;
    use crate::oauth::http::error::{ErrorCode, OAuthError};
    use crate::oauth::http::request::parse_form;

    #[test]
    fn labels_from_the_request_and_the_response() {
        assert_eq!(
            grant_type_of(Some("client_credentials")),
            GrantType::ClientCredentials
        );
        assert_eq!(grant_type_of(Some("password")), GrantType::Other);
        assert_eq!(grant_type_of(None), GrantType::Other);
        let mut headers = HeaderMap::new();
        let ext = Extensions::new();
        let form = parse_form(b"client_id=a&client_secret=s").unwrap();
        assert_eq!(
            auth_method_of(&headers, &form, &ext),
            AuthMethod::ClientSecretPost
        );
        let form = parse_form(b"client_id=a").unwrap();
        assert_eq!(auth_method_of(&headers, &form, &ext), AuthMethod::None);
        headers.insert(header::AUTHORIZATION, "Basic eDp5".parse().unwrap());
        assert_eq!(
            auth_method_of(&headers, &form, &ext),
            AuthMethod::ClientSecretBasic
        );
        let form = parse_form(b"client_secret=s").unwrap();
        assert_eq!(auth_method_of(&headers, &form, &ext), AuthMethod::Invalid);

        let refused = OAuthError::new(ErrorCode::InvalidGrant, "no").into_response();
        assert_eq!(result_of(&refused), TokenResult::refused("invalid_grant"));
        assert_eq!(result_of(&().into_response()), TokenResult::OK);
    }
}
