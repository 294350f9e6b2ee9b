//! Redirect URIs: exact matching against the registered ones (RFC 9700 §4.1.3) with the
//! loopback port exception (RFC 8252 §7.3), and building the authorization response
//! (always with `iss`, RFC 9207, and the client's `state`).

/// `http://127.0.0.1:<port>` or `http://[::1]:<port>` split into (host, port, rest).
fn loopback_parts(uri: &str) -> Option<(&str, &str, &str)> {
    let after = uri.strip_prefix("http://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (host, port) = if let Some(v6) = authority.strip_prefix("[::1]") {
        ("[::1]", v6)
    } else if let Some(v4) = authority.strip_prefix("127.0.0.1") {
        ("127.0.0.1", v4)
    } else {
        return None;
    };
    let port = match port.strip_prefix(':') {
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => p,
        None if port.is_empty() => "",
        _ => return None,
    };
    Some((host, port, rest))
}

/// Whether `requested` is the registered URI `registered`: byte-for-byte equal, or both
/// loopback `http` URIs differing only in the port.
pub fn matches(registered: &str, requested: &str) -> bool {
    if requested.contains('#') {
        return false;
    }
    if registered == requested {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some((h1, _, r1)), Some((h2, _, r2))) => h1 == h2 && r1 == r2,
        _ => false,
    }
}

/// The redirect URI to use: `requested` if it matches a registered one; when omitted, the
/// only registered one. `None`: not trusted (the error is shown on a page).
pub fn resolve(registered: &[String], requested: Option<&str>) -> Option<String> {
    match requested {
        Some(uri) => registered
            .iter()
            .any(|r| matches(r, uri))
            .then(|| uri.to_owned()),
        None => match registered {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

/// `redirect_uri` with `params` appended to its query.
pub fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    let query = query.finish();
    let separator = match redirect_uri.find('?') {
        None => "?",
        Some(i) if i + 1 == redirect_uri.len() || redirect_uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{redirect_uri}{separator}{query}")
}

/// The CSP source for the redirect URI's origin (`scheme://authority` or `scheme:`), when
/// it is safe to put in a header.
pub fn csp_source(redirect_uri: &str) -> Option<String> {
    let (scheme, rest) = redirect_uri.split_once(':')?;
    let source = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            format!("{scheme}://{}", &after[..end])
        }
        None => format!("{scheme}:"),
    };
    let safe = source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.:/[]_~".contains(&b));
    safe.then_some(source)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        assert!(matches("https://app/cb", "https://app/cb"));
        assert!(!matches("https://app/cb", "https://app/cb/evil"));
        assert!(!matches("https://app/cb", "https://app/cb?x"));
        assert!(!matches("https://app/cb", "https://app/cb#f"));
        assert!(!matches("https://app/cb", "https://APP/cb"));
        assert!(!matches("https://app:443/cb", "https://app:444/cb"));
    }

    #[test]
    fn loopback_port_may_vary() {
        assert!(matches(
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1:51234/cb"
        ));
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:9/cb"));
        assert!(matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!matches("http://127.0.0.1:1/cb", "http://127.0.0.1:2/cb/x"));
        assert!(!matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.1.evil:2/cb"
        ));
        assert!(!matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.1:2@evil/cb"
        ));
        assert!(!matches("http://127.0.0.1:1/cb", "http://[::1]:2/cb"));
        assert!(!matches("https://127.0.0.1:1/cb", "https://127.0.0.1:2/cb"));
    }

    #[test]
    fn omitted_uses_the_only_one() {
        let one = vec!["https://a/cb".to_string()];
        assert_eq!(resolve(&one, None).as_deref(), Some("https://a/cb"));
        let two = vec!["https://a/cb".to_string(), "https://b/cb".to_string()];
        assert_eq!(resolve(&two, None), None);
    }

    #[test]
    fn params_are_appended() {
        assert_eq!(
            with_params("https://a/cb", &[("code", "x y"), ("state", "&")]),
            "https://a/cb?code=x+y&state=%26"
        );
        assert_eq!(
            with_params("https://a/cb?k=v", &[("a", "b")]),
            "https://a/cb?k=v&a=b"
        );
        assert_eq!(
            csp_source("https://a:8/cb?x").as_deref(),
            Some("https://a:8")
        );
        assert_eq!(
            csp_source("com.example:/cb").as_deref(),
            Some("com.example:")
        );
        assert_eq!(csp_source("https://a;b/cb"), None);
    }
}
