//! Load generation for the HTTP benchmarks: a minimal HTTP/1.1 keep-alive client (one
//! request at a time per connection, no dependencies) and latency percentiles.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection.
#[derive(Debug)]
pub struct Http1 {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A response: status, head and body.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The status line and the header lines.
    pub head: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The values of the header `name` (case-insensitive), in order.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.head.lines().skip(1).filter_map(move |l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Http1 {
    /// Connects to `addr`.
    pub async fn connect(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// POSTs a form body to `path` and reads the whole response (Content-Length framed).
    pub async fn post_form(&mut self, path: &str, body: &str) -> std::io::Result<Reply> {
        self.send(Some(body), path, "").await
    }

    /// GETs `path` with `cookie` (a `Cookie` header value; empty: none). Redirects are not
    /// followed: the reply carries the `Location`.
    pub async fn get(&mut self, path: &str, cookie: &str) -> std::io::Result<Reply> {
        self.send(None, path, cookie).await
    }

    /// [`Http1::post_form`] with `cookie`.
    pub async fn post_form_with_cookie(
        &mut self,
        path: &str,
        cookie: &str,
        body: &str,
    ) -> std::io::Result<Reply> {
        self.send(Some(body), path, cookie).await
    }

    /// A GET (`form` is `None`) or a form POST; reads the whole response.
    async fn send(
        &mut self,
        form: Option<&str>,
        path: &str,
        cookie: &str,
    ) -> std::io::Result<Reply> {
        let method = if form.is_some() { "POST" } else { "GET" };
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
        if !cookie.is_empty() {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(body) = form {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            request.push_str("\r\n");
        }
        self.stream.write_all(request.as_bytes()).await?;
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .ok_or_else(|| bad("content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok(Reply { status, head, body })
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// The `p`-th percentile (0..=100) of `sorted` (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
