//! Token exchange (RFC 8693) through the real binaries: a workload's JWT-SVID (fetched from
//! a real agent with the issuer as audience) and a Kubernetes service-account token
//! (reviewed by the Kubernetes API stand-in) are exchanged by client `gateway` for access
//! tokens that `jsonwebtoken` verifies against the published JWKS; everything no policy
//! allows is refused.

use std::time::Duration;

use serde_json::Value;
use tessera_tests::http::{get_json, post_form};
use tessera_tests::k8s::{KubeStandIn, TokenRequest};
use tessera_tests::{ServerProcess, free_port};

use crate::agent::server;
use crate::workload::{Node, my_uid};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const API: &str = "https://api.example.org";

/// `[oauth]` on a free loopback port plus `exchange` (token-exchange keys); the issuer URL.
fn oauth_config(exchange: &str) -> (String, String) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = format!(
        "[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\naccess_token_ttl = \"5m\"\n{exchange}"
    );
    (config, issuer)
}

/// Creates a confidential client with `grants`; returns its secret.
fn create_client(server: &ServerProcess, id: &str, grants: &[&str]) -> String {
    let mut args = vec!["client", "create", "--client-id", id];
    for g in grants {
        args.extend(["--grant-type", g]);
    }
    args.extend(["--scope", "read", "--output", "json"]);
    let created: Value = serde_json::from_str(&server.ok(&args)).unwrap();
    created["client_secret"].as_str().unwrap().to_owned()
}

fn get(issuer: &str, path: &str) -> Value {
    let (status, body) = get_json(issuer, path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// `POST /oauth2/token` with client_secret_post and `pairs`.
fn token(issuer: &str, client: (&str, &str), pairs: &[(&str, &str)]) -> (u16, Value) {
    let mut all = vec![("client_id", client.0), ("client_secret", client.1)];
    all.extend_from_slice(pairs);
    post_form(issuer, "/oauth2/token", &all)
}

fn exchange(
    issuer: &str,
    client: (&str, &str),
    subject: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut pairs = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", JWT),
    ];
    pairs.extend_from_slice(extra);
    token(issuer, client, &pairs)
}

/// Verifies an issued access token with `jsonwebtoken` against the server's JWKS (signature,
/// `typ: at+jwt`, iss, aud, exp); returns its claims.
fn verify(issuer: &str, access_token: &str) -> Value {
    let discovery = get(issuer, "/.well-known/oauth-authorization-server");
    let grants = discovery["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == GRANT), "{discovery}");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get(issuer, "/.well-known/jwks.json")).unwrap();
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[API]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(access_token, &key, &validation)
        .unwrap()
        .claims
}

fn assert_refused(outcome: (u16, Value), error: &str, why: &str) {
    let (status, body) = outcome;
    assert_eq!(status, 400, "{why}: {body}");
    assert_eq!(body["error"], error, "{why}: {body}");
    assert!(body.get("access_token").is_none(), "{why}");
}

/// The JWT-SVIDs `tessera-agent api fetch jwt` prints, by SPIFFE ID.
fn fetch_jwt(socket: &std::path::Path, audience: &str, spiffe_id: &str) -> String {
    let out = tessera_tests::guard::output(
        std::process::Command::new(tessera_tests::bin("tessera-agent"))
            .args([
                "api",
                "fetch",
                "jwt",
                "--audience",
                audience,
                "--spiffe-id",
                spiffe_id,
            ])
            .arg("--socket")
            .arg(socket),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().nth(1).unwrap().trim().to_owned()
}

#[test]
fn a_workload_jwt_svid_for_the_issuer_is_exchanged_only_as_the_policy_allows() {
    let dir = tempfile::tempdir().unwrap();
    let (oauth, issuer) = oauth_config(&format!(
        "[[oauth.token_exchange.policy]]\nsubject = \"spiffe://example.org/ns/prod/*\"\nclients = [\"gateway\"]\naudiences = [\"{API}\"]\nscopes = [\"read\", \"write\"]\n"
    ));
    let mut node = Node::start_with(dir.path(), &oauth);
    let prod = "spiffe://example.org/ns/prod/web";
    let dev = "spiffe://example.org/ns/dev/web";
    for id in [prod, dev] {
        node.register(id, my_uid(), &[]);
    }
    let (server, socket) = (&node.server, &node.socket);
    let gateway_secret = create_client(server, "gateway", &[GRANT]);
    let outsider_secret = create_client(server, "outsider", &[GRANT]);
    let plain_secret = create_client(server, "plain", &["client_credentials"]);
    let gateway = ("gateway", gateway_secret.as_str());

    // The workload mints its JWT-SVID for the issuer; the gateway exchanges it.
    let svid = fetch_jwt(socket, &issuer, prod);
    let (status, body) = exchange(&issuer, gateway, &svid, &[("scope", "read")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!(expires_in > 0 && expires_in <= 300, "{body}");
    let claims = verify(&issuer, body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], prod);
    assert_eq!(claims["client_id"], "gateway");
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], "read");
    // Never beyond the JWT-SVID's own expiry.
    let svid_exp = jsonwebtoken::dangerous::insecure_decode::<Value>(&svid)
        .map(|d| d.claims["exp"].as_i64().unwrap())
        .unwrap();
    assert!(claims["exp"].as_i64().unwrap() <= svid_exp);

    // Refusals: no policy for the subject, a client the policy does not name, a client
    // without the grant, escalation, a JWT-SVID for another audience.
    let dev_svid = fetch_jwt(socket, &issuer, dev);
    assert_refused(
        exchange(&issuer, gateway, &dev_svid, &[]),
        "invalid_request",
        "dev subject",
    );
    assert_refused(
        exchange(&issuer, ("outsider", &outsider_secret), &svid, &[]),
        "invalid_request",
        "client not in the policy",
    );
    assert_refused(
        exchange(&issuer, ("plain", &plain_secret), &svid, &[]),
        "unauthorized_client",
        "client without the grant",
    );
    assert_refused(
        exchange(
            &issuer,
            gateway,
            &svid,
            &[("audience", "https://admin.example.org")],
        ),
        "invalid_target",
        "audience escalation",
    );
    assert_refused(
        exchange(&issuer, gateway, &svid, &[("scope", "admin")]),
        "invalid_scope",
        "scope escalation",
    );
    let other_aud = fetch_jwt(socket, "https://api.example.org", prod);
    assert_refused(
        exchange(&issuer, gateway, &other_aud, &[]),
        "invalid_request",
        "JWT-SVID for another audience",
    );
    // Issue 11 §4: the workload's client assertion (minted for the token endpoint) is not
    // an exchange subject.
    let assertion = fetch_jwt(socket, &format!("{issuer}/oauth2/token"), prod);
    assert_refused(
        exchange(&issuer, gateway, &assertion, &[]),
        "invalid_request",
        "client assertion as subject",
    );

    let log = server.log();
    assert!(log.contains("oauth_token_exchange"), "audit events");
    for secret in [&svid, &dev_svid, &other_aud] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(
            !log.contains(signature),
            "a subject token reached the server log"
        );
    }
}

#[test]
fn a_kubernetes_service_account_token_is_exchanged_after_token_review() {
    let dir = tempfile::tempdir().unwrap();
    let kube = KubeStandIn::start();
    let kubeconfig = dir.path().join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig);
    let (oauth, issuer) = oauth_config(&format!(
        "[oauth.token_exchange.k8s_clusters.c1]\nissuer = \"{}\"\naudiences = [\"tessera\"]\nkubeconfig = \"{}\"\n[[oauth.token_exchange.policy]]\nsubject = \"system:serviceaccount:prod:*\"\nclients = [\"gateway\"]\naudiences = [\"{API}\"]\nscopes = [\"read\"]\n",
        kube.issuer(),
        kubeconfig.display()
    ));
    let (server, _) = server(dir.path(), &oauth);
    let secret = create_client(&server, "gateway", &[GRANT]);
    let gateway = ("gateway", secret.as_str());

    let web = kube.issue_token(&TokenRequest::new("prod", "web").audience("tessera"));
    let (status, body) = exchange(&issuer, gateway, &web, &[]);
    assert_eq!(status, 200, "{body}");
    let claims = verify(&issuer, body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "system:serviceaccount:prod:web");
    assert_eq!(claims["client_id"], "gateway");
    assert_eq!(claims["scope"], "read");

    let wrong_audience = kube.issue_token(&TokenRequest::new("prod", "web").audience("other"));
    assert_refused(
        exchange(&issuer, gateway, &wrong_audience, &[]),
        "invalid_request",
        "token for another audience",
    );
    let forged = kube.forge_token(&TokenRequest::new("prod", "web").audience("tessera"));
    assert_refused(
        exchange(&issuer, gateway, &forged, &[]),
        "invalid_request",
        "forged token",
    );
    let expired = kube.issue_token(
        &TokenRequest::new("prod", "web")
            .audience("tessera")
            .expired(Duration::from_secs(120)),
    );
    assert_refused(
        exchange(&issuer, gateway, &expired, &[]),
        "invalid_request",
        "expired token",
    );
    let other_ns = kube.issue_token(&TokenRequest::new("kube-system", "admin").audience("tessera"));
    assert_refused(
        exchange(&issuer, gateway, &other_ns, &[]),
        "invalid_request",
        "namespace without a policy",
    );

    let log = server.log();
    assert!(
        log.contains("system:serviceaccount:kube-system:admin"),
        "audit names the refused subject"
    );
    assert!(
        !log.contains(web.rsplit('.').next().unwrap()),
        "a subject token reached the server log"
    );
}
