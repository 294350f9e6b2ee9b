//! Refusals: unregistered or near-miss redirect URIs and forged hints get a page, never a
//! redirect, and end nothing.

use serde_json::json;

use super::fixture::{
    BYE, NOW, alice, es256, fixture, id_token, logout_uri, refused_page, signed_in, submit,
};
use crate::oauth::browser::tests::{ISSUER, get, post};
use crate::oauth::clients::test_support::{EcKey, signing_input};

#[tokio::test]
async fn unregistered_or_near_miss_post_logout_redirect_uris_get_a_page_never_a_redirect() {
    let f = fixture().await;
    let session = alice(&f).await;
    let hint = id_token(&f.key, es256(), ISSUER);
    for uri in [
        "https://evil.example/bye",
        "https://app.example/bye/evil",
        "https://app.example/byebye",
        "https://app.example/by",
        "https://app.example/bye?x=1",
        "https://app.example/bye#f",
        "HTTPS://app.example/bye",
        "http://127.0.0.1:9999/bye",
        "https://first.example/bye",
    ] {
        let with_client = [("client_id", "web"), ("post_logout_redirect_uri", uri)];
        let a = get(&f.router, &logout_uri(&with_client), Some(&session)).await;
        refused_page(&a, uri);
        let with_hint = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", uri),
        ];
        refused_page(
            &get(&f.router, &logout_uri(&with_hint), Some(&session)).await,
            uri,
        );
        let posted = post(&f.router, "/oauth2/logout", Some(&session), &with_client).await;
        refused_page(&posted, uri);
    }
    // An edited confirmation form (right CSRF token) is validated again.
    let page = get(&f.router, "/oauth2/logout", Some(&session)).await;
    let form = [
        ("csrf_token", page.field("csrf_token")),
        ("client_id", "web".to_owned()),
        (
            "post_logout_redirect_uri",
            "https://evil.example/bye".to_owned(),
        ),
        ("confirm", "yes".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    refused_page(&submit(&f, Some(&session), &form).await, "edited form");
    // A redirect URI needs a client.
    let bare = logout_uri(&[("post_logout_redirect_uri", BYE)]);
    refused_page(&get(&f.router, &bare, Some(&session)).await, "no client");
    assert!(signed_in(&f, &session).await, "nothing was ended");
}

#[tokio::test]
async fn forged_or_foreign_id_token_hints_get_an_error_page() {
    let f = fixture().await;
    let session = alice(&f).await;
    let other = EcKey::generate();
    let claims = json!({"iss": ISSUER, "sub": "x", "aud": "web", "iat": NOW, "exp": NOW + 60});
    let unsigned = format!(
        "{}.",
        signing_input(&json!({"alg": "none", "typ": "JWT", "kid": "k1"}), &claims)
    );
    let access = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
    let cases = [
        ("other key", id_token(&other, es256(), ISSUER)),
        ("alg none", unsigned),
        (
            "wrong issuer",
            id_token(&f.key, es256(), "https://evil.example"),
        ),
        ("access token", id_token(&f.key, access, ISSUER)),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (case, hint) in cases {
        let params = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", BYE),
        ];
        refused_page(
            &get(&f.router, &logout_uri(&params), Some(&session)).await,
            case,
        );
    }
    // A valid hint for `web` with another client_id.
    let hint = id_token(&f.key, es256(), ISSUER);
    let params = [("id_token_hint", hint.as_str()), ("client_id", "first")];
    refused_page(
        &get(&f.router, &logout_uri(&params), Some(&session)).await,
        "mismatch",
    );
    assert!(signed_in(&f, &session).await);
}
