//! Validation of client registrations: every refusal names the field.

use std::time::Duration;

use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::model::{AuthMethod, Client, GRANT_TYPES};

/// The longest accepted `client_id`.
pub const MAX_CLIENT_ID: usize = 128;

/// Why a client registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A field is invalid; the message says which and why.
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field (wire name).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_client_id(id: &str) -> Result<(), ClientError> {
    if id.is_empty() {
        return Err(invalid("client_id", "required"));
    }
    if id.len() > MAX_CLIENT_ID {
        return Err(invalid(
            "client_id",
            format!("at most {MAX_CLIENT_ID} characters"),
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')))
    {
        return Err(invalid(
            "client_id",
            format!("{c:?} is not allowed (use A-Z a-z 0-9 . _ ~ -)"),
        ));
    }
    Ok(())
}

fn check_grant_types(grants: &[String]) -> Result<(), ClientError> {
    if grants.is_empty() {
        return Err(invalid("grant_types", "at least one is required"));
    }
    for g in grants {
        match g.as_str() {
            "password" | "implicit" => {
                return Err(invalid(
                    "grant_types",
                    format!("{g:?} is not supported (forbidden by RFC 9700)"),
                ));
            }
            g if GRANT_TYPES.contains(&g) => {}
            other => {
                return Err(invalid(
                    "grant_types",
                    format!(
                        "unknown grant type {other:?} (one of {})",
                        GRANT_TYPES.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A scope token: RFC 6749 §3.3 `NQCHAR` (printable ASCII but space, `"` and `\`).
fn check_scopes(scopes: &[String]) -> Result<(), ClientError> {
    for s in scopes {
        let ok = !s.is_empty()
            && s.bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if !ok {
            return Err(invalid(
                "scopes",
                format!("{s:?} is not a scope token (no spaces, quotes or backslashes)"),
            ));
        }
    }
    Ok(())
}

fn check_non_empty(field: &'static str, values: &[String]) -> Result<(), ClientError> {
    if values.iter().any(|v| v.trim().is_empty()) {
        return Err(invalid(field, "empty value"));
    }
    Ok(())
}

/// A JWK set: `{"keys": [ {"kty": …}, … ]}` with at least one key.
fn check_jwks(jwks: &str) -> Result<(), ClientError> {
    let doc: serde_json::Value =
        serde_json::from_str(jwks).map_err(|e| invalid("jwks", format!("not JSON: {e}")))?;
    let keys = doc
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| invalid("jwks", "not a JWK set (no \"keys\" array)"))?;
    if keys.is_empty() {
        return Err(invalid("jwks", "the JWK set has no keys"));
    }
    for (i, k) in keys.iter().enumerate() {
        if k.get("kty").and_then(serde_json::Value::as_str).is_none() {
            return Err(invalid("jwks", format!("key {i} has no \"kty\"")));
        }
        if k.get("d").is_some() {
            return Err(invalid("jwks", format!("key {i} is a private key")));
        }
        if k.get("kty").and_then(serde_json::Value::as_str) == Some("oct") || k.get("k").is_some() {
            return Err(invalid(
                "jwks",
                format!("key {i} is a symmetric key (only public keys are accepted)"),
            ));
        }
    }
    Ok(())
}

/// Validates and converts a wire client.
pub(super) fn validate(c: OAuthClient) -> Result<Client, ClientError> {
    check_client_id(&c.client_id)?;
    check_grant_types(&c.grant_types)?;
    check_scopes(&c.scopes)?;
    check_non_empty("audiences", &c.audiences)?;
    check_non_empty("redirect_uris", &c.redirect_uris)?;
    // RFC 6749 §3.1.2: absolute, without a fragment.
    super::uri::check_absolute("redirect_uris", &c.redirect_uris)?;
    super::uri::check_absolute("post_logout_redirect_uris", &c.post_logout_redirect_uris)?;
    let auth_method = match c.auth_method.as_str() {
        "" if c.public => AuthMethod::None,
        "" => AuthMethod::ClientSecretBasic,
        m => AuthMethod::parse(m).ok_or_else(|| {
            invalid(
                "auth_method",
                format!(
                    "unknown method {m:?} (one of {})",
                    AuthMethod::ALL.map(AuthMethod::as_str).join(", ")
                ),
            )
        })?,
    };
    if c.public != (auth_method == AuthMethod::None) {
        return Err(invalid(
            "auth_method",
            "public clients, and only they, use auth_method none",
        ));
    }
    if c.public && c.introspect_any {
        return Err(invalid(
            "introspect_any",
            "a public client cannot introspect tokens",
        ));
    }
    if c.public && c.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(invalid(
            "grant_types",
            "a public client cannot use client_credentials",
        ));
    }
    let spiffe_id = match c.spiffe_id.as_str() {
        "" => None,
        id => Some(SpiffeId::parse(id).map_err(|e| invalid("spiffe_id", e.to_string()))?),
    };
    if auth_method == AuthMethod::SpiffeJwt && spiffe_id.is_none() {
        return Err(invalid("spiffe_id", "required for auth_method spiffe_jwt"));
    }
    let jwks = Client::optional(&c.jwks);
    match &jwks {
        Some(j) => check_jwks(j)?,
        None if auth_method == AuthMethod::PrivateKeyJwt => {
            return Err(invalid("jwks", "required for auth_method private_key_jwt"));
        }
        None => {}
    }
    let tls_subject_dn = Client::optional(&c.tls_subject_dn);
    if let Some(dn) = &tls_subject_dn
        && !super::dn::is_well_formed(dn)
    {
        return Err(invalid(
            "tls_subject_dn",
            "not an RFC 4514 DN (e.g. CN=payments,O=Example Corp,C=DE)",
        ));
    }
    if auth_method == AuthMethod::TlsClientAuth && tls_subject_dn.is_none() && spiffe_id.is_none() {
        return Err(invalid(
            "tls_subject_dn",
            "tls_client_auth needs a subject DN or a spiffe_id",
        ));
    }
    let tls_trust_domain = match c.tls_trust_domain.as_str() {
        "" => None,
        _ if tls_subject_dn.is_none() => {
            return Err(invalid(
                "tls_trust_domain",
                "only together with tls_subject_dn (a SPIFFE ID names its own trust domain)",
            ));
        }
        name => {
            Some(TrustDomain::new(name).map_err(|e| invalid("tls_trust_domain", e.to_string()))?)
        }
    };
    let access_token_ttl = match u64::try_from(c.access_token_ttl) {
        Ok(0) => None,
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => return Err(invalid("access_token_ttl", "must not be negative")),
    };
    Ok(Client {
        client_id: c.client_id,
        name: c.name,
        grant_types: c.grant_types,
        scopes: c.scopes,
        audiences: c.audiences,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        auth_method,
        spiffe_id,
        jwks,
        tls_subject_dn,
        tls_trust_domain,
        access_token_ttl,
        public: c.public,
        first_party: c.first_party,
        introspect_any: c.introspect_any,
        enabled: c.enabled,
        created_at: c.created_at,
        secret_rotated_at: c.secret_rotated_at,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn base() -> OAuthClient {
        OAuthClient {
            client_id: "svc-a.prod_1~x".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["read:things".into(), "write".into()],
            enabled: true,
            ..Default::default()
        }
    }

    fn field_of(c: OAuthClient) -> &'static str {
        match validate(c) {
            Err(ClientError::Invalid { field, .. }) => field,
            Ok(c) => panic!("accepted {c:?}"),
        }
    }

    #[test]
    fn a_plain_confidential_client_defaults_to_basic_and_round_trips() {
        let c = validate(base()).unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.access_token_ttl, None);
        let mut wire = base();
        wire.auth_method = "client_secret_basic".into();
        assert_eq!(c.to_proto(), wire);
        assert_eq!(validate(c.to_proto()).unwrap(), c);
    }

    #[test]
    fn client_id_charset_and_length() {
        for bad in ["", "a b", "a/b", "é", "a:b"] {
            let mut c = base();
            c.client_id = bad.into();
            assert_eq!(field_of(c), "client_id", "{bad:?}");
        }
        let mut c = base();
        c.client_id = "a".repeat(128);
        assert!(validate(c.clone()).is_ok());
        c.client_id.push('a');
        assert_eq!(field_of(c), "client_id");
    }

    #[test]
    fn grant_types_refuse_password_implicit_and_unknown() {
        for bad in ["password", "implicit", "magic"] {
            let mut c = base();
            c.grant_types.push(bad.into());
            let err = validate(c).unwrap_err().to_string();
            assert!(
                err.starts_with("grant_types: ") && err.contains(bad),
                "{err}"
            );
        }
        let mut c = base();
        c.grant_types.clear();
        assert_eq!(field_of(c), "grant_types");
        let mut c = base();
        c.grant_types = GRANT_TYPES.map(String::from).to_vec();
        assert!(validate(c).is_ok());
    }

    #[test]
    fn scopes_are_space_free_tokens() {
        for bad in ["two words", "", "q\"", "tab\t"] {
            let mut c = base();
            c.scopes.push(bad.into());
            assert_eq!(field_of(c), "scopes", "{bad:?}");
        }
    }

    #[test]
    fn spiffe_jwt_needs_a_valid_spiffe_id() {
        let mut c = base();
        c.auth_method = "spiffe_jwt".into();
        assert_eq!(field_of(c.clone()), "spiffe_id");
        c.spiffe_id = "spiffe://example.org/a/../b".into();
        assert_eq!(field_of(c.clone()), "spiffe_id");
        c.spiffe_id = "spiffe://example.org/billing".into();
        let ok = validate(c).unwrap();
        assert_eq!(ok.auth_method, AuthMethod::SpiffeJwt);
        assert_eq!(
            ok.spiffe_id.unwrap().as_str(),
            "spiffe://example.org/billing"
        );
    }

    #[test]
    fn private_key_jwt_needs_a_public_jwk_set() {
        let mut c = base();
        c.auth_method = "private_key_jwt".into();
        assert_eq!(field_of(c.clone()), "jwks");
        for bad in [
            "not json",
            "{}",
            r#"{"keys":[]}"#,
            r#"{"keys":[{"x":"1"}]}"#,
            r#"{"keys":[{"kty":"EC","d":"secret"}]}"#,
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#,
        ] {
            c.jwks = bad.into();
            assert_eq!(field_of(c.clone()), "jwks", "{bad}");
        }
        c.jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}"#.into();
        assert!(validate(c).is_ok());
    }

    #[test]
    fn public_clients_use_none_and_other_checks() {
        let mut c = base();
        c.public = true;
        assert_eq!(field_of(c.clone()), "grant_types");
        c.grant_types = vec!["authorization_code".into()];
        assert_eq!(validate(c.clone()).unwrap().auth_method, AuthMethod::None);
        // A public client proves nothing: it cannot be a resource server.
        let mut introspecting = c.clone();
        introspecting.introspect_any = true;
        assert_eq!(field_of(introspecting), "introspect_any");
        c.auth_method = "client_secret_post".into();
        assert_eq!(field_of(c), "auth_method");
        let mut c = base();
        c.auth_method = "none".into();
        assert_eq!(field_of(c), "auth_method");
        let mut c = base();
        c.auth_method = "client_secret_jwt".into();
        assert_eq!(field_of(c), "auth_method");
        let mut c = base();
        c.auth_method = "tls_client_auth".into();
        assert_eq!(field_of(c.clone()), "tls_subject_dn");
        c.tls_subject_dn = "partner".into();
        assert_eq!(field_of(c.clone()), "tls_subject_dn");
        c.tls_subject_dn = "CN=partner,O=Acme".into();
        assert!(validate(c).is_ok());
        let mut c = base();
        c.access_token_ttl = -1;
        assert_eq!(field_of(c), "access_token_ttl");
        let mut c = base();
        c.audiences = vec![" ".into()];
        assert_eq!(field_of(c), "audiences");
    }
    #[test]
    fn tls_trust_domain_is_a_trust_domain_name_beside_a_subject_dn() {
        let reason = |c: OAuthClient| match validate(c) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("accepted {c:?}"),
        };
        let mut c = base();
        c.auth_method = "tls_client_auth".into();
        c.spiffe_id = "spiffe://partner.org/pay".into();
        c.tls_trust_domain = "partner.org".into();
        assert_eq!(
            reason(c.clone()),
            "tls_trust_domain: only together with tls_subject_dn (a SPIFFE ID names its own \
             trust domain)"
        );
        c.tls_subject_dn = "CN=payments,O=Partner".into();
        let ok = validate(c.clone()).unwrap();
        assert_eq!(
            ok.tls_trust_domain,
            Some(TrustDomain::new("partner.org").unwrap())
        );
        assert_eq!(ok.to_proto().tls_trust_domain, "partner.org");
        assert_eq!(Client::from_proto(ok.to_proto()).unwrap(), ok);
        for bad in ["Partner.org", "spiffe://partner.org", "partner org", "a/b"] {
            c.tls_trust_domain = bad.into();
            let err = reason(c.clone());
            let expected = TrustDomain::new(bad).unwrap_err().to_string();
            assert_eq!(err, format!("tls_trust_domain: {expected}"), "{bad}");
        }
        c.tls_trust_domain = String::new();
        assert_eq!(validate(c).unwrap().tls_trust_domain, None);
    }
}
