//! The policy decision: default deny, subject prefixes, client restriction, no escalation
//! of audience or scope, and the token's lifetime.

use std::time::Duration;

use serde_json::json;

use super::{ISSUER, client, now, policy};
use crate::oauth::exchange::{
    ExchangeError, ExchangePolicy, ExchangeRequest, Exchanged, IssueContext, Subject, SubjectKind,
    decide,
};
use crate::oauth::http::AuthenticatedClient;

fn spiffe(id: &str) -> Subject {
    Subject {
        id: id.into(),
        kind: SubjectKind::Spiffe,
        expires_at: now() + Duration::from_secs(3600),
    }
}

fn ctx() -> IssueContext<'static> {
    IssueContext {
        issuer: ISSUER,
        default_ttl: Duration::from_secs(600),
        signing_deadline: None,
        jti: "j1",
        now: now(),
    }
}

fn run(
    client: &AuthenticatedClient,
    subject: &Subject,
    policies: &[ExchangePolicy],
    audiences: &[&str],
    scope: Option<&str>,
) -> Result<Exchanged, ExchangeError> {
    let request = ExchangeRequest {
        audiences: audiences.to_vec(),
        scope,
    };
    decide(client, subject, policies, &request, &ctx())
}

fn prod_policy() -> Vec<ExchangePolicy> {
    vec![policy(
        "spiffe://example.org/ns/prod/*",
        &["gateway"],
        &["https://api.example.org"],
        &["read", "write"],
    )]
}

#[test]
fn default_deny_without_policies() {
    let web = spiffe("spiffe://example.org/ns/prod/web");
    let err = run(
        &client("gateway"),
        &web,
        &[],
        &["https://api.example.org"],
        None,
    );
    assert_eq!(err.unwrap_err(), ExchangeError::NoPolicy);
}

#[test]
fn allowed_exchange_yields_exactly_the_rfc9068_claims() {
    let web = spiffe("spiffe://example.org/ns/prod/web");
    let out = run(&client("gateway"), &web, &prod_policy(), &[], Some("read")).unwrap();
    let mut keys: Vec<&str> = out.claims.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ]
    );
    assert_eq!(out.claims["sub"], json!("spiffe://example.org/ns/prod/web"));
    assert_eq!(out.claims["client_id"], json!("gateway"));
    assert_eq!(out.claims["aud"], json!("https://api.example.org"));
    assert_eq!(out.claims["iss"], json!(ISSUER));
    assert_eq!(out.scope, "read");
    assert_eq!(out.expires_in, 600);
}

#[test]
fn subject_prefix_and_client_restriction_apply() {
    let policies = prod_policy();
    let staging = spiffe("spiffe://example.org/ns/staging/web");
    let err = run(&client("gateway"), &staging, &policies, &[], None).unwrap_err();
    assert_eq!(err, ExchangeError::NoPolicy);
    let lookalike = spiffe("spiffe://example.org/ns/production/web");
    let err = run(&client("gateway"), &lookalike, &policies, &[], None).unwrap_err();
    assert_eq!(err, ExchangeError::NoPolicy);
    let web = spiffe("spiffe://example.org/ns/prod/web");
    let err = run(&client("intruder"), &web, &policies, &[], None).unwrap_err();
    assert_eq!(err, ExchangeError::NoPolicy);
    let mut no_grant = client("gateway");
    no_grant.grant_types = vec!["client_credentials".into()];
    let err = run(&no_grant, &web, &policies, &[], None).unwrap_err();
    assert_eq!(err, ExchangeError::UnauthorizedClient);
}

#[test]
fn audience_and_scope_escalation_are_refused() {
    let web = spiffe("spiffe://example.org/ns/prod/web");
    let gw = client("gateway");
    let policies = prod_policy();
    let err = run(&gw, &web, &policies, &["https://admin.example.org"], None).unwrap_err();
    assert!(matches!(err, ExchangeError::Target(_)), "{err:?}");
    let err = run(
        &gw,
        &web,
        &policies,
        &["https://api.example.org", "https://admin.example.org"],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, ExchangeError::Target(_)), "{err:?}");
    let err = run(&gw, &web, &policies, &[], Some("read admin")).unwrap_err();
    assert_eq!(err, ExchangeError::Scope);
    let err = run(&gw, &web, &policies, &[], Some("re\"ad")).unwrap_err();
    assert_eq!(err, ExchangeError::Scope);
    // Omitted scope: the policy's scopes.
    let out = run(&gw, &web, &policies, &[], None).unwrap();
    assert_eq!(out.scope, "read write");
}

#[test]
fn audience_is_required_when_several_are_allowed_and_one_policy_must_cover_the_request() {
    let web = spiffe("spiffe://example.org/ns/prod/web");
    let gw = client("gateway");
    let policies = vec![
        policy(
            "spiffe://example.org/ns/prod/*",
            &[],
            &["https://a"],
            &["read"],
        ),
        policy(
            "spiffe://example.org/ns/prod/web",
            &[],
            &["https://b"],
            &["write"],
        ),
    ];
    let err = run(&gw, &web, &policies, &[], None).unwrap_err();
    assert!(matches!(err, ExchangeError::Target(_)), "{err:?}");
    let b = run(&gw, &web, &policies, &["https://b"], Some("write")).unwrap();
    assert_eq!(b.claims["aud"], json!("https://b"));
    // Each policy grants only its own pairs: no mixing a's audience with b's scope.
    let err = run(&gw, &web, &policies, &["https://a"], Some("write")).unwrap_err();
    assert_eq!(err, ExchangeError::Scope);
    let err = run(&gw, &web, &policies, &["https://a", "https://b"], None).unwrap_err();
    assert!(matches!(err, ExchangeError::Target(_)), "{err:?}");
    // Repeated audiences count once.
    let a = run(&gw, &web, &policies, &["https://a", "https://a"], None).unwrap();
    assert_eq!(a.audiences, ["https://a"]);
}

#[test]
fn lifetime_is_capped_by_the_subject_token_and_the_signing_key() {
    let mut web = spiffe("spiffe://example.org/ns/prod/web");
    web.expires_at = now() + Duration::from_secs(90);
    let out = run(&client("gateway"), &web, &prod_policy(), &[], None).unwrap();
    assert_eq!(out.expires_in, 90);
    assert_eq!(out.claims["exp"], json!(1_800_000_090));

    let mut short = client("gateway");
    short.access_token_ttl = Some(Duration::from_secs(30));
    assert_eq!(
        run(&short, &web, &prod_policy(), &[], None)
            .unwrap()
            .expires_in,
        30
    );

    let request = ExchangeRequest::default();
    let mut c = ctx();
    c.signing_deadline = Some(now() + Duration::from_secs(10));
    let out = decide(&client("gateway"), &web, &prod_policy(), &request, &c).unwrap();
    assert_eq!(out.expires_in, 10);

    web.expires_at = now();
    let err = run(&client("gateway"), &web, &prod_policy(), &[], None).unwrap_err();
    assert!(matches!(err, ExchangeError::BadRequest(_)), "{err:?}");
}

#[test]
fn service_account_subjects_and_certificate_bound_clients() {
    let sa = Subject {
        id: "system:serviceaccount:prod:web".into(),
        kind: SubjectKind::ServiceAccount {
            cluster: "c1".into(),
        },
        expires_at: now() + Duration::from_secs(3600),
    };
    let policies = vec![policy(
        "system:serviceaccount:prod:*",
        &[],
        &["https://api"],
        &["read"],
    )];
    let mut gw = client("gateway");
    gw.certificate_thumbprint = Some("thumb".into());
    let out = run(&gw, &sa, &policies, &[], None).unwrap();
    assert_eq!(out.claims["sub"], json!("system:serviceaccount:prod:web"));
    assert_eq!(out.claims["cnf"], json!({"x5t#S256": "thumb"}));
    let other_ns = Subject {
        id: "system:serviceaccount:kube-system:web".into(),
        ..sa
    };
    assert_eq!(
        run(&gw, &other_ns, &policies, &[], None).unwrap_err(),
        ExchangeError::NoPolicy
    );
}
