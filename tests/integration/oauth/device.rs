//! The device authorization grant (RFC 8628) end to end through the real binary, driven by
//! the unmodified npm `openid-client` v6 (`tests/interop/node/device.mjs`): a user and a
//! public device client made with the CLI; the device asks for codes and polls while the
//! user signs in on the device page, confirms the code and approves; tokens (ID token,
//! refresh token) follow, and the spent device code is refused.

use serde_json::json;

const PASSWORD: &str = "Device-Flow-Passw0rd";

#[test]
fn openid_client_gets_tokens_with_the_device_flow_after_the_user_approves() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user(
        "tvuser",
        &["--display-name", "TV User", "--email", "tv@example.org"],
        PASSWORD,
    );
    server.ok(&[
        "client",
        "create",
        "--client-id",
        "living-room-tv",
        "--grant-type",
        "urn:ietf:params:oauth:grant-type:device_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--public",
    ]);

    let v = super::openid_client(
        "device.mjs",
        &[&issuer, "living-room-tv", "tvuser"],
        PASSWORD,
        || server.log(),
    );
    assert_eq!(
        v["device_authorization_endpoint"],
        format!("{issuer}/oauth2/device_authorization"),
        "{v}"
    );
    let user_code = v["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "{v}");
    assert_eq!(v["verification_uri"], format!("{issuer}/oauth2/device"));
    assert_eq!(
        v["verification_uri_complete"],
        format!("{issuer}/oauth2/device?user_code={user_code}")
    );
    assert_eq!(
        (v["expires_in"].as_u64(), v["interval"].as_u64()),
        (Some(600), Some(5))
    );
    assert_eq!(v["user"]["prefilled"], user_code, "{v}");
    assert_eq!(v["user"]["confirm_names_client"], true, "{v}");
    assert_eq!(v["scope"], "openid profile", "{v}");
    assert_eq!(v["id_token"]["iss"], issuer.as_str(), "{v}");
    assert_eq!(v["id_token"]["aud"], "living-room-tv", "{v}");
    assert!(
        v["id_token"]["amr"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("pwd")))
    );
    assert_ne!(v["id_token"]["sub"], "tvuser", "sub is the opaque user id");
    assert_eq!(v["refresh_token"], true, "{v}");
    assert_eq!(v["userinfo_username"], "tvuser", "{v}");
    assert_eq!(
        v["second_poll"],
        json!({"status": 400, "error": "invalid_grant"}),
        "{v}"
    );

    let log = server.log();
    assert!(log.contains("oauth_device_authorization"), "audit events");
    assert!(log.contains("oauth_device_approved"), "audit events");
    assert!(
        !log.contains(user_code),
        "the user code reached the server log"
    );
}
