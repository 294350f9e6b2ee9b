//! Just enough HTTP/1.1 for one `GET` to the kubelet: base-URL parsing and reading a
//! complete response (status, `Content-Length` or `chunked` body).

use std::fmt;

/// A kubelet base URL: `http[s]://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https` or `http`.
    pub https: bool,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path before `/pods`, without a trailing `/` (usually empty).
    pub path_prefix: String,
}

impl Url {
    /// Parses a base URL; no userinfo, query or fragment.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{s:?} is not a kubelet URL: {why}");
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("expected http:// or https://"));
        };
        if rest.contains(['?', '#', '@']) || rest.contains(char::is_whitespace) {
            return Err(bad("no userinfo, query, fragment or spaces"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => {
                if https {
                    443
                } else {
                    80
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("bad port"))?,
        };
        Ok(Self {
            https,
            host: host.to_owned(),
            port,
            path_prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(
            f,
            "{scheme}://{}{}/pods",
            self.host_header(),
            self.path_prefix
        )
    }
}

/// A response that is not a usable `200`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// A non-200 status, with (the start of) the body.
    Status(u16, String),
    /// Not parsable HTTP, or truncated.
    Malformed(String),
}

/// The body of a complete `200` response in `raw`.
pub fn parse_response(raw: &[u8]) -> Result<Vec<u8>, HttpError> {
    let malformed = |m: &str| HttpError::Malformed(m.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| malformed("no end of headers"))?;
    let head = std::str::from_utf8(raw.get(..end).unwrap_or_default())
        .map_err(|_| malformed("headers are not UTF-8"))?;
    let body = raw.get(end.saturating_add(4)..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(malformed("not an HTTP/1.x response"));
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| malformed("bad status line"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed("bad header line"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| malformed("bad Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(len) = length {
        body.get(..len)
            .ok_or_else(|| malformed("body shorter than Content-Length"))?
            .to_vec()
    } else {
        body.to_vec()
    };
    if code != 200 {
        let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        return Err(HttpError::Status(code, text));
    }
    Ok(body)
}

/// Whether `raw` already holds a whole response, so the reader need not wait for the
/// server to close (should it keep the connection open despite `Connection: close`).
/// `false` while unsure: the caller then reads on until EOF.
pub fn is_complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).to_ascii_lowercase();
    let body_len = raw.len().saturating_sub(end.saturating_add(4));
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim() {
            "content-length" => {
                return value
                    .trim()
                    .parse::<usize>()
                    .is_ok_and(|len| body_len >= len);
            }
            // Cheap test first: a chunked body ends with the zero chunk (no trailers).
            "transfer-encoding" if value.contains("chunked") => {
                return raw.ends_with(b"0\r\n\r\n") && parse_response(raw).is_ok();
            }
            _ => {}
        }
    }
    false
}

/// Decodes a `chunked` body (extensions and trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, HttpError> {
    let malformed = |m: &str| HttpError::Malformed(m.to_owned());
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| malformed("truncated chunk size"))?;
        let line = std::str::from_utf8(rest.get(..eol).unwrap_or_default())
            .map_err(|_| malformed("bad chunk size"))?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| malformed("bad chunk size"))?;
        rest = rest.get(eol.saturating_add(2)..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest
            .get(..size)
            .ok_or_else(|| malformed("truncated chunk"))?;
        out.extend_from_slice(chunk);
        rest = rest
            .get(size..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or_else(|| malformed("chunk without CRLF"))?;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://node-1.example:10250").unwrap();
        assert!(u.https);
        assert_eq!((u.host.as_str(), u.port), ("node-1.example", 10250));
        assert_eq!(u.to_string(), "https://node-1.example:10250/pods");
        let u = Url::parse("http://127.0.0.1:10255/").unwrap();
        assert_eq!(
            (u.https, u.port, u.path_prefix.as_str()),
            (false, 10255, "")
        );
        let u = Url::parse("https://[fd00::1]/proxy").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("fd00::1", 443));
        assert_eq!(u.to_string(), "https://[fd00::1]:443/proxy/pods");
        for bad in [
            "ftp://x",
            "http://",
            "http://:80",
            "http://h:0",
            "http://h:x",
            "http://u@h",
            "http://h/?q",
            "http://[::1",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_length_and_chunked_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{}{}extra";
        assert_eq!(parse_response(raw).unwrap(), b"{}{}");
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;ext=1\r\n1}\n\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), b"{\"a\":1}\n");
        let raw = b"HTTP/1.0 200 OK\r\n\r\n[1]";
        assert_eq!(parse_response(raw).unwrap(), b"[1]");
        assert!(!is_complete(raw));
    }

    #[test]
    fn completeness() {
        let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}{}";
        assert!(is_complete(cl));
        assert!(!is_complete(&cl[..cl.len() - 1]));
        let ch = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        assert!(is_complete(ch));
        assert!(!is_complete(&ch[..ch.len() - 2]));
        // A chunk whose data ends like the terminator is not the end.
        let tricky = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nab0\r\n\r\n";
        assert!(!is_complete(tricky));
        assert!(!is_complete(b"HTTP/1.1 200 OK\r\nContent-Le"));
    }

    #[test]
    fn errors() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nUnauthorized";
        assert_eq!(
            parse_response(raw).unwrap_err(),
            HttpError::Status(401, "Unauthorized".into())
        );
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n",
            b"",
        ] {
            assert!(
                matches!(parse_response(raw), Err(HttpError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
