//! A tiny blocking HTTP/1.1 client for the loopback `http://` servers of the tests (one
//! request per connection, fixed-length bodies), and `application/x-www-form-urlencoded`
//! encoding.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use serde_json::Value;

/// Percent-encodes everything but RFC 3986 unreserved characters (a form or query value).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&…`, both sides encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    parts.join("&")
}

/// A response: status, header lines in order, body text.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// `(name, value)` pairs as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The value of the (hidden) form field `name` of an HTML page.
    pub fn form_field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let len = self.body[start..].find('"')?;
        Some(self.body[start..start + len].to_owned())
    }

    /// The Tessera browser-session cookie this reply sets, as `name=value`.
    pub fn session_cookie(&self) -> Option<String> {
        let (_, set) = self.headers.iter().find(|(k, v)| {
            k.eq_ignore_ascii_case("set-cookie") && v.contains("tessera-session=")
        })?;
        Some(set.split(';').next()?.to_owned())
    }

    /// The `code` of a redirect (302/303) back to an OAuth client.
    pub fn code(&self) -> Option<String> {
        if !matches!(self.status, 302 | 303) {
            return None;
        }
        let query = self.header("location")?.split_once('?')?.1;
        let code = query.split('&').find_map(|p| p.strip_prefix("code="))?;
        Some(code.to_owned())
    }
}

/// Sends `method target` to `base` (`http://host:port…`) with `headers` and `body` (a
/// form when non-empty); panics on transport errors and on chunked answers.
pub fn request(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    try_request(base, method, target, headers, body).unwrap()
}

/// [`request`], with a transport failure (refused, reset, a truncated answer: a server
/// killed mid-request) as an error instead of a panic.
pub fn try_request(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Reply> {
    let broken = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let authority = base.trim_start_matches("http://");
    let authority = authority.split('/').next().unwrap_or(authority);
    let mut stream = TcpStream::connect(authority)?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8(raw).map_err(|_| broken("not UTF-8"))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| broken("no end of header"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| broken("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let reply = Reply {
        status,
        headers,
        body: body.to_owned(),
    };
    assert!(
        !reply
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked")),
        "this tiny client reads only fixed-length bodies"
    );
    Ok(reply)
}

/// POSTs `pairs` as a form to `base` + `path`; the status and JSON body.
pub fn post_form(base: &str, path: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let reply = request(base, "POST", path, &[], &form(pairs));
    (reply.status, reply.json())
}

/// GETs `base` + `path`; the status and JSON body.
pub fn get_json(base: &str, path: &str) -> (u16, Value) {
    let reply = request(base, "GET", path, &[], "");
    (reply.status, reply.json())
}
