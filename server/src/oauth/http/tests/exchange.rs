//! The token-exchange branch of the token endpoint (RFC 8693) with a fake subject validator:
//! response shape, error codes, and audit events that never carry a token.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::StatusCode;
use serde_json::Value;

use super::super::verify::verify_access_token;
use super::fakes::{
    FakeClients, FakeSigner, ISSUER, ManualClock, basic, call, client, form, post, start_time,
};
use crate::oauth::exchange::{
    ExchangePolicy, JWT_TOKEN_TYPE, Subject, SubjectError, SubjectKind, SubjectPattern,
    TOKEN_EXCHANGE_GRANT, TokenExchange, ValidateSubject, validator::SubjectFuture,
};
use crate::oauth::http::{OAuthHttpConfig, OAuthServer, TokenSigner as _};
use crate::test_support::{Capture, set_default};

const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Subject tokens are their subject's name prefixed with `ok:`; anything else is invalid.
struct FakeSubjects;

impl ValidateSubject for FakeSubjects {
    fn validate<'a>(
        &'a self,
        token: &'a str,
        token_type: &'a str,
        _now: SystemTime,
    ) -> SubjectFuture<'a> {
        Box::pin(async move {
            if token_type != JWT_TOKEN_TYPE {
                return Err(SubjectError::UnsupportedType);
            }
            match token.strip_prefix("ok:") {
                Some(id) => Ok(Subject {
                    id: id.to_owned(),
                    kind: SubjectKind::Spiffe,
                    expires_at: start_time() + Duration::from_secs(120),
                }),
                None => Err(SubjectError::Malformed),
            }
        })
    }
}

struct Exchange {
    router: Router,
    jwks: Value,
}

fn server(enabled: bool) -> Exchange {
    let mut clients = FakeClients::default();
    let mut gateway = client("gateway", &["read"], &[]);
    gateway.grant_types = vec![TOKEN_EXCHANGE_GRANT.into()];
    clients.0.insert("gateway".into(), ("g".into(), gateway));
    clients.0.insert(
        "plain".into(),
        ("p".into(), client("plain", &["read"], &[])),
    );
    let signer = FakeSigner::new();
    let jwks = signer.jwks();
    let clock = Arc::new(ManualClock(Mutex::new(start_time())));
    let state = Arc::new(crate::datastore::memory::MemoryStore::default());
    let server = OAuthServer::new(OAuthHttpConfig::new(ISSUER), clients, signer, state, clock);
    let server = if enabled {
        let policy = ExchangePolicy {
            subject: SubjectPattern::parse("spiffe://example.org/ns/prod/*").unwrap(),
            clients: vec!["gateway".into()],
            audiences: vec!["https://api.example.org".into()],
            scopes: vec!["read".into(), "write".into()],
        };
        server.with_token_exchange(TokenExchange::new(FakeSubjects, vec![policy]))
    } else {
        server
    };
    Exchange {
        router: server.router(),
        jwks,
    }
}

async fn exchange(x: &Exchange, who: (&str, &str), extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut pairs = vec![
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("subject_token_type", JWT_TOKEN_TYPE),
    ];
    pairs.extend_from_slice(extra);
    let auth = basic(who.0, who.1);
    let (status, _, body) = call(&x.router, post("/oauth2/token", Some(&auth), form(&pairs))).await;
    (status, body)
}

const WEB: &str = "ok:spiffe://example.org/ns/prod/web";

#[tokio::test]
async fn an_allowed_exchange_answers_per_rfc8693_with_a_verifiable_access_token() {
    let x = server(true);
    let (status, body) = exchange(
        &x,
        ("gateway", "g"),
        &[("subject_token", WEB), ("requested_token_type", ACCESS)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    // Capped at the subject token's expiry (120 s), below the default 10 min.
    assert_eq!(body["expires_in"], 120);
    let token = body["access_token"].as_str().unwrap();
    let claims = verify_access_token(token, &x.jwks, ISSUER, start_time()).unwrap();
    assert_eq!(claims["sub"], "spiffe://example.org/ns/prod/web");
    assert_eq!(claims["client_id"], "gateway");
    assert_eq!(claims["aud"], "https://api.example.org");
}

#[tokio::test]
async fn refusals_use_the_rfc_error_codes() {
    let x = server(true);
    type Case<'a> = (
        &'a str,
        (&'a str, &'a str),
        Vec<(&'a str, &'a str)>,
        StatusCode,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "no grant",
            ("plain", "p"),
            vec![("subject_token", WEB)],
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            "no subject token",
            ("gateway", "g"),
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "bad subject token",
            ("gateway", "g"),
            vec![("subject_token", "forged")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "other token type",
            ("gateway", "g"),
            vec![
                ("subject_token", WEB),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "delegation",
            ("gateway", "g"),
            vec![
                ("subject_token", WEB),
                ("actor_token", WEB),
                ("actor_token_type", JWT_TOKEN_TYPE),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no policy",
            ("gateway", "g"),
            vec![("subject_token", "ok:spiffe://example.org/ns/dev/web")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "audience",
            ("gateway", "g"),
            vec![
                ("subject_token", WEB),
                ("audience", "https://admin.example.org"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            "resource",
            ("gateway", "g"),
            vec![
                ("subject_token", WEB),
                ("resource", "https://admin.example.org"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            "scope",
            ("gateway", "g"),
            vec![("subject_token", WEB), ("scope", "admin")],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "wrong secret",
            ("gateway", "x"),
            vec![("subject_token", WEB)],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
    ];
    for (why, who, extra, want_status, want_error) in cases {
        let (status, body) = exchange(&x, who, &extra).await;
        assert_eq!(status, want_status, "{why}: {body}");
        assert_eq!(body["error"], want_error, "{why}: {body}");
        assert!(body.get("access_token").is_none(), "{why}");
    }
    let off = server(false);
    let (status, body) = exchange(&off, ("gateway", "g"), &[("subject_token", WEB)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test(flavor = "current_thread")]
async fn exchanges_are_audited_with_subject_client_and_decision_but_no_token() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = set_default(subscriber);
    let x = server(true);
    let (status, body) = exchange(&x, ("gateway", "g"), &[("subject_token", WEB)]).await;
    assert_eq!(status, StatusCode::OK);
    let issued = body["access_token"].as_str().unwrap().to_owned();
    let denied = "ok:spiffe://example.org/ns/dev/secret-subject-token";
    exchange(
        &x,
        ("gateway", "g"),
        &[("subject_token", denied), ("audience", "https://a")],
    )
    .await;

    let log = capture.text();
    let events: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("oauth_token_exchange"))
        .collect();
    assert_eq!(events.len(), 2, "{log}");
    assert!(
        events[0].contains("decision=\"allow\"") && events[0].contains("client_id=\"gateway\""),
        "{}",
        events[0]
    );
    assert!(
        events[0].contains("subject=\"spiffe://example.org/ns/prod/web\""),
        "{}",
        events[0]
    );
    assert!(
        events[1].contains("decision=\"deny\"") && events[1].contains("reason=\"no_policy\""),
        "{}",
        events[1]
    );
    assert!(events[1].contains("aud=https://a"), "{}", events[1]);
    assert!(!log.contains(WEB), "subject token leaked: {log}");
    assert!(!log.contains(denied), "subject token leaked: {log}");
    let signature = issued.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "issued token leaked: {log}");
}
