//! Subject tokens: JWT-SVIDs against own and federated bundles (audience = the issuer), and
//! service-account tokens through TokenReview in the cluster their `iss` names.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_proto::clock::unix_seconds;
use tessera_proto::jwt_svid::TokenError;

use super::{Authority, FakeBundles, FakeReviewer, ISSUER, now};
use crate::attestation::TokenReviewStatus;
use crate::oauth::exchange::{
    ExchangeCluster, JWT_TOKEN_TYPE, Subject, SubjectError, SubjectKind, SubjectTokens,
};

const K8S_ISSUER: &str = "https://kubernetes.default.svc";

fn svid_claims(sub: &str, aud: &str, ttl: i64) -> Value {
    json!({
        "sub": sub,
        "aud": [aud],
        "iat": unix_seconds(now()),
        "exp": unix_seconds(now()) + ttl,
    })
}

fn cluster() -> ExchangeCluster {
    ExchangeCluster {
        name: "c1".into(),
        issuer: K8S_ISSUER.into(),
        audiences: vec!["tessera".into()],
        kubeconfig: None,
    }
}

/// An (unsigned-looking) service-account token: TokenReview is the only judge.
fn sa_token(iss: &str, exp: Option<i64>, tag: &str) -> String {
    let mut claims = json!({"iss": iss, "sub": "system:serviceaccount:prod:web", "aud": ["tessera"], "tag": tag});
    if let Some(exp) = exp {
        claims["exp"] = json!(exp);
    }
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2ln",
        enc(&json!({"alg": "RS256", "kid": "k"})),
        enc(&claims)
    )
}

fn authenticated(username: &str, audiences: &[&str]) -> TokenReviewStatus {
    TokenReviewStatus {
        authenticated: Some(true),
        username: username.into(),
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        ..TokenReviewStatus::default()
    }
}

struct Setup {
    own: Authority,
    partner: Authority,
    validator: SubjectTokens<FakeBundles, FakeReviewer>,
}

fn setup(reviewer: FakeReviewer) -> Setup {
    let own = Authority::new("own-1");
    let partner = Authority::new("partner-1");
    let bundles = FakeBundles(vec![
        own.bundle("example.org"),
        partner.bundle("partner.org"),
    ]);
    let validator = SubjectTokens::new(ISSUER.into(), vec![cluster()], bundles, reviewer);
    Setup {
        own,
        partner,
        validator,
    }
}

async fn check(s: &Setup, token: &str) -> Result<Subject, SubjectError> {
    s.validator.validate(token, JWT_TOKEN_TYPE, now()).await
}

#[tokio::test]
async fn a_jwt_svid_for_the_issuer_names_its_spiffe_id_and_expiry() {
    let s = setup(FakeReviewer::default());
    let token = s.own.sign(&svid_claims(
        "spiffe://example.org/ns/prod/web",
        ISSUER,
        300,
    ));
    let subject = check(&s, &token).await.unwrap();
    assert_eq!(subject.id, "spiffe://example.org/ns/prod/web");
    assert_eq!(subject.kind, SubjectKind::Spiffe);
    assert_eq!(subject.expires_at, now() + Duration::from_secs(300));
    // Federated trust domain, signed by its own authority: accepted.
    let token = s
        .partner
        .sign(&svid_claims("spiffe://partner.org/web", ISSUER, 300));
    assert_eq!(
        check(&s, &token).await.unwrap().id,
        "spiffe://partner.org/web"
    );
    assert!(s.validator_calls().is_empty());
}

impl Setup {
    fn validator_calls(&self) -> Vec<(String, Vec<String>)> {
        self.validator_reviewer().calls.lock().unwrap().clone()
    }

    fn validator_reviewer(&self) -> &FakeReviewer {
        self.validator.reviewer()
    }
}

#[tokio::test]
async fn expired_wrong_audience_foreign_and_forged_jwt_svids_are_refused() {
    let s = setup(FakeReviewer::default());
    let web = "spiffe://example.org/ns/prod/web";
    let expired = s.own.sign(&svid_claims(web, ISSUER, -1));
    assert_eq!(
        check(&s, &expired).await.unwrap_err(),
        SubjectError::JwtSvid(TokenError::Expired)
    );
    let wrong_aud = s.own.sign(&svid_claims(web, "https://elsewhere", 300));
    assert_eq!(
        check(&s, &wrong_aud).await.unwrap_err(),
        SubjectError::JwtSvid(TokenError::AudienceMismatch)
    );
    let unknown_td = s
        .own
        .sign(&svid_claims("spiffe://stranger.org/web", ISSUER, 300));
    assert!(matches!(
        check(&s, &unknown_td).await.unwrap_err(),
        SubjectError::JwtSvid(TokenError::UnknownTrustDomain(_))
    ));
    // The partner's key cannot speak for our trust domain (its kid is not in our bundle).
    let cross = s.partner.sign(&svid_claims(web, ISSUER, 300));
    assert!(matches!(
        check(&s, &cross).await.unwrap_err(),
        SubjectError::JwtSvid(TokenError::UnknownKey { .. })
    ));
    // Same kid, another key: bad signature.
    let forger = Authority::new("own-1");
    let forged = forger.sign(&svid_claims(web, ISSUER, 300));
    assert_eq!(
        check(&s, &forged).await.unwrap_err(),
        SubjectError::JwtSvid(TokenError::BadSignature)
    );
    assert_eq!(
        s.validator
            .validate("not-a-jwt", JWT_TOKEN_TYPE, now())
            .await
            .unwrap_err(),
        SubjectError::Malformed
    );
    let token = s.own.sign(&svid_claims(web, ISSUER, 300));
    for other_type in [
        "urn:ietf:params:oauth:token-type:id_token",
        "urn:ietf:params:oauth:token-type:access_token",
    ] {
        assert_eq!(
            s.validator
                .validate(&token, other_type, now())
                .await
                .unwrap_err(),
            SubjectError::UnsupportedType
        );
    }
}

#[tokio::test]
async fn a_service_account_token_is_reviewed_in_the_cluster_its_issuer_names() {
    let exp = unix_seconds(now()) + 600;
    let good = sa_token(K8S_ISSUER, Some(exp), "good");
    let mut reviewer = FakeReviewer::default();
    reviewer.answers.insert(
        good.clone(),
        Ok(authenticated(
            "system:serviceaccount:prod:web",
            &["tessera"],
        )),
    );
    let s = setup(reviewer);
    let subject = check(&s, &good).await.unwrap();
    assert_eq!(subject.id, "system:serviceaccount:prod:web");
    assert_eq!(
        subject.kind,
        SubjectKind::ServiceAccount {
            cluster: "c1".into()
        }
    );
    assert_eq!(subject.expires_at, now() + Duration::from_secs(600));
    assert_eq!(
        s.validator_calls(),
        [("c1".to_owned(), vec!["tessera".to_owned()])]
    );
}

#[tokio::test]
async fn service_account_tokens_not_authenticated_or_for_another_audience_are_refused() {
    let exp = Some(unix_seconds(now()) + 600);
    let cases = [
        ("unauthenticated", None),
        (
            "wrong-audience",
            Some(authenticated("system:serviceaccount:prod:web", &[])),
        ),
        (
            "other-audience",
            Some(authenticated("system:serviceaccount:prod:web", &["kube"])),
        ),
        (
            "not-an-sa",
            Some(authenticated("system:node:n1", &["tessera"])),
        ),
        (
            "with-error",
            Some(TokenReviewStatus {
                error: Some("boom".into()),
                ..authenticated("system:serviceaccount:prod:web", &["tessera"])
            }),
        ),
        (
            "authenticated-false",
            Some(TokenReviewStatus {
                authenticated: Some(false),
                ..authenticated("system:serviceaccount:prod:web", &["tessera"])
            }),
        ),
    ];
    let mut reviewer = FakeReviewer::default();
    for (tag, status) in &cases {
        if let Some(status) = status {
            reviewer
                .answers
                .insert(sa_token(K8S_ISSUER, exp, tag), Ok(status.clone()));
        }
    }
    let legacy = sa_token(K8S_ISSUER, None, "legacy");
    reviewer.answers.insert(
        legacy.clone(),
        Ok(authenticated(
            "system:serviceaccount:prod:web",
            &["tessera"],
        )),
    );
    let down = sa_token(K8S_ISSUER, exp, "down");
    reviewer
        .answers
        .insert(down.clone(), Err("connection refused".into()));
    let s = setup(reviewer);
    for (tag, _) in &cases {
        let err = check(&s, &sa_token(K8S_ISSUER, exp, tag))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SubjectError::Kubernetes { .. }),
            "{tag}: {err:?}"
        );
    }
    let err = check(&s, &legacy).await.unwrap_err();
    assert!(matches!(err, SubjectError::Kubernetes { .. }), "{err:?}");
    let err = check(&s, &down).await.unwrap_err();
    assert!(matches!(err, SubjectError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_token_of_an_unconfigured_issuer_is_never_sent_to_token_review() {
    let s = setup(FakeReviewer::default());
    let token = sa_token(
        "https://other-cluster.example",
        Some(unix_seconds(now()) + 600),
        "x",
    );
    let err = check(&s, &token).await.unwrap_err();
    assert!(matches!(err, SubjectError::JwtSvid(_)), "{err:?}");
    assert!(s.validator_calls().is_empty());
}

/// Issue 11 §4: a JWT-SVID minted as a client assertion (its `aud` names the token
/// endpoint, or another endpoint under the issuer) is never an exchange subject, even when
/// it also names the issuer; only the token endpoint alone fails the audience check.
#[tokio::test]
async fn a_client_assertion_jwt_svid_is_not_an_exchange_subject() {
    let s = setup(FakeReviewer::default());
    let web = "spiffe://example.org/ns/prod/web";
    let token_endpoint = format!("{ISSUER}/oauth2/token");
    let assertion = s.own.sign(&svid_claims(web, &token_endpoint, 300));
    assert_eq!(
        check(&s, &assertion).await.unwrap_err(),
        SubjectError::JwtSvid(TokenError::AudienceMismatch)
    );
    for endpoint in ["/oauth2/token", "/oauth2/introspect"] {
        let mut claims = svid_claims(web, ISSUER, 300);
        claims["aud"] = json!([ISSUER, format!("{ISSUER}{endpoint}")]);
        let both = s.own.sign(&claims);
        assert_eq!(
            check(&s, &both).await.unwrap_err(),
            SubjectError::ClientAssertionAudience,
            "{endpoint}"
        );
    }
}

/// Issue 11 §13: the API server's error is redacted before it reaches a log line, as on
/// the `k8s_psat` path: neither the token nor a cut-off piece of it survives.
#[tokio::test]
async fn a_token_review_error_quoting_the_token_is_redacted() {
    let exp = Some(unix_seconds(now()) + 600);
    let token = sa_token(K8S_ISSUER, exp, "quoted");
    let signature_part = token.rsplit('.').nth(1).unwrap().to_owned();
    let mut reviewer = FakeReviewer::default();
    // The whole token, then a piece of it cut at 40 characters (as a log excerpt would).
    let error = format!(
        "invalid bearer token {token}; retried with {}",
        &signature_part[..40]
    );
    reviewer.answers.insert(
        token.clone(),
        Ok(TokenReviewStatus {
            error: Some(error),
            ..TokenReviewStatus::default()
        }),
    );
    let s = setup(reviewer);
    let err = check(&s, &token).await.unwrap_err();
    let SubjectError::Kubernetes { reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        reason,
        "token not authenticated: invalid bearer token <token>; retried with <token>"
    );
    let shown = err.to_string();
    assert!(!shown.contains(&signature_part[..24]), "{shown}");
}
