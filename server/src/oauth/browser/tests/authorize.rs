//! `GET /oauth2/authorize`: what is shown on a page, what goes back to the client.

use axum::http::{StatusCode, header};

use super::{ISSUER, authorize_uri, fixture, get};

#[tokio::test]
async fn unregistered_or_near_miss_redirect_uris_get_a_page_never_a_redirect() {
    let f = fixture().await;
    for uri in [
        "https://evil.example/cb",
        "https://app.example/cb/evil",
        "https://app.example/cb?x",
        "https://app.example/cb#frag",
        "https://app.example/c",
        "http://127.0.0.1:9/cb/evil",
    ] {
        let a = get(
            &f.router,
            &authorize_uri("web", &[("redirect_uri", uri)]),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(a.headers.get(header::LOCATION).is_none(), "{uri}");
        assert!(a.body.contains("not registered"), "{uri}: {}", a.body);
    }
    // Unknown, disabled client; missing client_id: also pages.
    for uri in [
        authorize_uri("nobody", &[("redirect_uri", "https://evil.example/cb")]),
        authorize_uri("disabled", &[("redirect_uri", "https://d.example/cb")]),
        "/oauth2/authorize?response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
            .to_string(),
    ] {
        let a = get(&f.router, &uri, None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(a.headers.get(header::LOCATION).is_none());
    }
    // Several registered URIs and none given: which one is unknown, so a page.
    let a = get(&f.router, &authorize_uri("web", &[]), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn loopback_redirect_uris_may_use_any_port() {
    let f = fixture().await;
    let uri = authorize_uri("web", &[("redirect_uri", "http://127.0.0.1:51234/cb")]);
    let a = get(&f.router, &uri, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("name=\"password\""));
    // The only registered URI is used when none is given.
    let a = get(&f.router, &authorize_uri("first", &[]), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

async fn error_of(uri: &str) -> std::collections::HashMap<String, String> {
    let f = fixture().await;
    let a = get(&f.router, uri, None).await;
    let (base, params) = a.redirect();
    assert_eq!(base, "https://first.example/cb");
    assert_eq!(params["iss"], ISSUER);
    params
}

#[tokio::test]
async fn pkce_s256_is_required() {
    let base = "/oauth2/authorize?response_type=code&client_id=first&state=s1";
    let missing = error_of(base).await;
    assert_eq!(missing["error"], "invalid_request");
    assert_eq!(missing["state"], "s1");
    assert!(missing["error_description"].contains("code_challenge"));
    let plain = error_of(&format!(
        "{base}&code_challenge={}&code_challenge_method=plain",
        super::CHALLENGE
    ))
    .await;
    assert_eq!(plain["error"], "invalid_request");
    assert!(plain["error_description"].contains("S256"));
    let default_plain = error_of(&format!("{base}&code_challenge={}", super::CHALLENGE)).await;
    assert_eq!(default_plain["error"], "invalid_request");
    let short = error_of(&format!(
        "{base}&code_challenge=abc&code_challenge_method=S256"
    ))
    .await;
    assert_eq!(short["error"], "invalid_request");
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_iss_and_state() {
    let token =
        error_of(&authorize_uri("first", &[]).replace("response_type=code", "response_type=token"))
            .await;
    assert_eq!(token["error"], "unsupported_response_type");
    assert_eq!(token["state"], "st-1");
    let scope = error_of(
        &authorize_uri("first", &[]).replace("scope=openid+profile", "scope=openid+admin"),
    )
    .await;
    assert_eq!(scope["error"], "invalid_scope");
    let prompt = error_of(&authorize_uri("first", &[("prompt", "none login")])).await;
    assert_eq!(prompt["error"], "invalid_request");
    let twice = error_of(&format!("{}&scope=email", authorize_uri("first", &[]))).await;
    assert_eq!(twice["error"], "invalid_request");
}

#[tokio::test]
async fn clients_without_the_code_grant_are_unauthorized() {
    let f = fixture().await;
    let a = get(&f.router, &authorize_uri("machine", &[]), None).await;
    let (base, params) = a.redirect();
    assert_eq!(base, "https://m.example/cb");
    assert_eq!(params["error"], "unauthorized_client");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let f = fixture().await;
    let uri = authorize_uri(
        "web",
        &[
            ("redirect_uri", "https://app.example/cb"),
            ("prompt", "none"),
        ],
    );
    let a = get(&f.router, &uri, None).await;
    let (base, params) = a.redirect();
    assert_eq!(base, "https://app.example/cb");
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
    // An unknown session id is no session either.
    let a = get(&f.router, &uri, Some("forged-session-id")).await;
    assert_eq!(a.redirect().1["error"], "login_required");
}

#[tokio::test]
async fn pages_escape_what_they_show_and_carry_the_security_headers() {
    let f = fixture().await;
    let uri = authorize_uri("web", &[("redirect_uri", "https://app.example/cb")]);
    let a = get(&f.router, &uri, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.contains("<script>"), "{}", a.body);
    assert!(a.body.contains("Web &lt;script&gt;alert(1)&lt;/script&gt;"));
    let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert!(csp.contains("base-uri 'none'"), "{csp}");
    assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(a.headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
    for attr in [
        "__Host-tessera-session=",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    // Escaped error pages too.
    let evil = get(&f.router, &authorize_uri("<b>x", &[]), None).await;
    assert!(!evil.body.contains("<b>x"));
    assert_eq!(evil.headers[header::X_FRAME_OPTIONS], "DENY");
}
