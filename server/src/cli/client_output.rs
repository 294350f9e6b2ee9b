//! Printing OAuth clients (`client show|list`); no secret ever reaches these functions.

use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::output::outln;

/// The JSON form of a client.
pub fn to_json(c: &OAuthClient) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "audiences": c.audiences,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "auth_method": c.auth_method,
        "spiffe_id": c.spiffe_id,
        "jwks": if c.jwks.is_empty() { Value::Null } else {
            serde_json::from_str(&c.jwks).unwrap_or(Value::String(c.jwks.clone()))
        },
        "tls_subject_dn": c.tls_subject_dn,
        "tls_trust_domain": c.tls_trust_domain,
        "access_token_ttl": c.access_token_ttl,
        "public": c.public,
        "first_party": c.first_party,
        "introspect_any": c.introspect_any,
        "enabled": c.enabled,
        "created_at": c.created_at,
        "secret_rotated_at": c.secret_rotated_at,
    })
}

fn time(secs: i64) -> String {
    if secs == 0 {
        return "never".into();
    }
    time::OffsetDateTime::from(from_unix_seconds(secs)).to_string()
}

fn line(label: &str, value: &str) {
    if !value.is_empty() {
        outln!("{label:<18}: {value}");
    }
}

/// The human form of a client.
pub fn print_pretty(c: &OAuthClient) {
    line("Client ID", &c.client_id);
    line("Name", &c.name);
    line("Auth method", &c.auth_method);
    line("Grant types", &c.grant_types.join(", "));
    line("Scopes", &c.scopes.join(" "));
    line("Audiences", &c.audiences.join(", "));
    line("Redirect URIs", &c.redirect_uris.join(", "));
    line("Post-logout URIs", &c.post_logout_redirect_uris.join(", "));
    line("SPIFFE ID", &c.spiffe_id);
    line("TLS subject DN", &c.tls_subject_dn);
    line("TLS trust domain", &c.tls_trust_domain);
    if !c.jwks.is_empty() {
        line("JWKS", "registered");
    }
    let ttl = if c.access_token_ttl == 0 {
        "server default".to_string()
    } else {
        format!("{}s", c.access_token_ttl)
    };
    line("Access token TTL", &ttl);
    line("Public", &c.public.to_string());
    line("First party", &c.first_party.to_string());
    line("Introspect any", &c.introspect_any.to_string());
    line("Enabled", &c.enabled.to_string());
    line("Created", &time(c.created_at));
    line("Secret rotated", &time(c.secret_rotated_at));
}
