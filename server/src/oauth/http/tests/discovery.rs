//! Discovery metadata and JWKS.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use super::fakes::{ISSUER, KID, call, harness};

#[tokio::test]
async fn discovery_documents_list_every_endpoint_and_capability() {
    let h = harness();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let (status, _, doc) = call(&h.router, req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(doc["token_endpoint"], format!("{ISSUER}/oauth2/token"));
        assert_eq!(
            doc["introspection_endpoint"],
            format!("{ISSUER}/oauth2/introspect")
        );
        assert_eq!(
            doc["revocation_endpoint"],
            format!("{ISSUER}/oauth2/revoke")
        );
        assert_eq!(doc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:token-exchange",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{ISSUER}/oauth2/authorize")
        );
        assert_eq!(
            doc["userinfo_endpoint"],
            format!("{ISSUER}/oauth2/userinfo")
        );
        assert_eq!(
            doc["end_session_endpoint"],
            format!("{ISSUER}/oauth2/logout")
        );
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(doc["response_modes_supported"], json!(["query"]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["openid", "profile", "email"])
        );
        assert!(
            doc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("preferred_username"))
        );
        let methods = json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "tls_client_auth",
            "spiffe_jwt"
        ]);
        let mut token_methods = methods.clone();
        token_methods.as_array_mut().unwrap().push(json!("none"));
        assert_eq!(doc["token_endpoint_auth_methods_supported"], token_methods);
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            methods
        );
        assert_eq!(doc["revocation_endpoint_auth_methods_supported"], methods);
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["tls_client_certificate_bound_access_tokens"], true);
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        let algs = json!([
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"
        ]);
        for endpoint in ["token", "introspection", "revocation"] {
            let key = format!("{endpoint}_endpoint_auth_signing_alg_values_supported");
            assert_eq!(doc[&key], algs, "{key}");
        }
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256"])
        );
        assert!(doc["response_types_supported"].is_array());
    }
}

#[tokio::test]
async fn jwks_is_the_signers_key_set() {
    let h = harness();
    let req = Request::get("/.well-known/jwks.json")
        .body(Body::empty())
        .unwrap();
    let (status, _, jwks) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks, h.jwks);
    assert_eq!(jwks["keys"][0]["kid"], KID);
    assert_eq!(jwks["keys"][0]["use"], "sig");
}
