//! Fuzzing entry points over what the server parses from untrusted input (built only with
//! `--cfg fuzzing`, as `cargo fuzz` does). Each must return, never panic, whatever the bytes.

use std::path::Path;
use std::time::{Duration, SystemTime};

use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use crate::oauth::browser::authorize::{self, Params};
use crate::oauth::clients::Client;

/// A token, introspection or revocation request body.
pub fn token_form(body: &[u8]) {
    let _ = crate::oauth::http::parse_form_for_fuzzing(body);
}

/// An authorization request's query (or form) against a fixed public client with one
/// loopback redirect URI.
pub fn authorize_query(query: &[u8]) {
    let params = Params::parse(query);
    if authorize::client_id(&params).is_err() {
        return;
    }
    let client = Client::from_proto(OAuthClient {
        client_id: "app".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        auth_method: "none".into(),
        public: true,
        enabled: true,
        ..Default::default()
    })
    .ok();
    let _ = authorize::validate(&params, client.as_ref());
}

/// An agent's PKCS#10 CSR, then the public key the CA would sign.
pub fn csr(der: &[u8]) {
    if let Ok(spki) = crate::api::agent::csr_public_key(der) {
        let _ = crate::ca::SpkiKey::from_der(&spki);
    }
}

/// `server.toml`.
pub fn config(text: &str) {
    let _ = crate::config::ServerConfig::parse(text, Path::new("server.toml"));
}

/// A P-256 public key as a JWK set (the curve's generator point).
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}]}"#;
const ISSUER: &str = "https://issuer.example";

/// Every JWT the OAuth server verifies: a `private_key_jwt` client assertion, an access
/// token, an `id_token_hint`.
pub fn jwts(token: &str) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = crate::oauth::clients::unverified_client_id(token);
    let _ = crate::oauth::clients::verify_private_key_jwt(
        token,
        "app",
        JWKS,
        &["https://issuer.example/oauth2/token", ISSUER],
        now,
    );
    if let Ok(jwks) = serde_json::from_str(JWKS) {
        let _ = crate::oauth::http::verify_access_token(token, &jwks, ISSUER, now);
        let _ = crate::oauth::http::verify_id_token_hint(token, &jwks, ISSUER);
    }
}
