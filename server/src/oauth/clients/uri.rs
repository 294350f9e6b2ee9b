//! Registered browser-facing URIs (`redirect_uris`, `post_logout_redirect_uris`): absolute, no fragment, no
//! whitespace or control characters. Each is later compared byte for byte with what a
//! request names and sent as a `Location`.

use super::ClientError;

/// `scheme:` (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-`, `.`) and more.
fn has_scheme(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// Checks every URI of `field`; the first bad one is named in the error.
pub(super) fn check_absolute(field: &'static str, uris: &[String]) -> Result<(), ClientError> {
    for uri in uris {
        let reason = if !has_scheme(uri) {
            "is not an absolute URI"
        } else if uri.contains('#') {
            "has a fragment"
        } else if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
            "has spaces or control characters"
        } else {
            continue;
        };
        return Err(ClientError::Invalid {
            field,
            reason: format!("{uri:?} {reason}"),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use tessera_proto::wire::tessera::admin::v1::OAuthClient;

    use super::super::Client;
    use super::*;

    fn with(uris: &[&str]) -> OAuthClient {
        OAuthClient {
            client_id: "web".into(),
            grant_types: vec!["authorization_code".into()],
            post_logout_redirect_uris: uris.iter().map(|u| (*u).to_string()).collect(),
            enabled: true,
            ..Default::default()
        }
    }

    #[test]
    fn redirect_uris_are_absolute_without_fragment() {
        for bad in [
            "/cb",
            "app.example/cb",
            "https://app.example/cb#x",
            "https://a b/",
        ] {
            let mut c = with(&[]);
            c.redirect_uris = vec!["https://ok.example/cb".into(), bad.into()];
            let err = Client::from_proto(c).unwrap_err();
            let ClientError::Invalid { field, .. } = err;
            assert_eq!(field, "redirect_uris", "{bad:?}");
        }
        let mut c = with(&[]);
        c.redirect_uris = vec!["http://127.0.0.1:9/cb".into(), "com.example.app:/cb".into()];
        assert!(Client::from_proto(c).is_ok());
    }

    #[test]
    fn post_logout_redirect_uris_are_absolute_without_fragment() {
        for bad in [
            "",
            "/relative",
            "app.example/bye",
            "https://app.example/bye#top",
            "https://app.example/b ye",
            "https://app.example/\nbye",
            "1http://x",
            "https:",
        ] {
            let err = Client::from_proto(with(&["https://ok.example/", bad])).unwrap_err();
            let ClientError::Invalid { field, .. } = err;
            assert_eq!(field, "post_logout_redirect_uris", "{bad:?}");
        }
        let good = [
            "https://app.example/bye?x=1",
            "http://127.0.0.1:8080/bye",
            "com.example.app:/logout",
        ];
        let client = Client::from_proto(with(&good)).unwrap();
        assert_eq!(client.post_logout_redirect_uris, good);
        assert_eq!(client.to_proto().post_logout_redirect_uris, good);
    }
}
