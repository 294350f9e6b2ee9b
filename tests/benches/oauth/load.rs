//! A closed-loop HTTP/1.1 load generator (like `wrk`): N keep-alive connections, each
//! sending the same POST as soon as its previous answer is in, for a warm-up and then a
//! measured window. Only answers inside the window count.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use hyper::client::conn::http1;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// One POST to repeat.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub authorization: String,
    pub body: String,
}

/// What one load run measured (inside the window only).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latencies of successful answers (200 with an `access_token`), in microseconds.
    pub latencies_us: Vec<u32>,
    /// Answers that were not a 200 with an `access_token`, and transport failures.
    pub errors: u64,
    /// The first few distinct failure descriptions.
    pub error_kinds: Vec<String>,
    pub window: Duration,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.window.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the successful latencies.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies_us.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        Duration::from_micros(u64::from(self.latencies_us[i]))
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        for kind in other.error_kinds {
            if self.error_kinds.len() < 5 && !self.error_kinds.contains(&kind) {
                self.error_kinds.push(kind);
            }
        }
    }
}

/// Runs `connections` closed-loop connections against `target`: `warmup`, then `window`.
pub async fn run(
    target: &Target,
    connections: usize,
    warmup: Duration,
    window: Duration,
) -> Outcome {
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + warmup;
    let end = measure_from + window;
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let target = target.clone();
        tasks.spawn(async move { connection(target, measure_from, end).await });
    }
    let mut all = Outcome {
        window,
        ..Outcome::default()
    };
    while let Some(done) = tasks.join_next().await {
        all.merge(done.unwrap_or_else(|e| Outcome {
            errors: 1,
            error_kinds: vec![format!("task: {e}")],
            ..Outcome::default()
        }));
    }
    all.latencies_us.sort_unstable();
    all
}

/// One request on a fresh connection; returns the status line and body as text.
pub async fn one(target: &Target) -> String {
    let attempt = async {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = http1::handshake::<_, String>(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let response = sender
            .send_request(request(target))
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>(format!("{status} {}", String::from_utf8_lossy(&body)))
    };
    attempt.await.unwrap_or_else(|e| format!("failed: {e}"))
}

fn request(target: &Target) -> Request<String> {
    Request::post(target.path.as_str())
        .header(header::HOST, target.addr.to_string())
        .header(header::AUTHORIZATION, target.authorization.as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(target.body.clone())
        .unwrap_or_default()
}

fn note(out: &mut Outcome, counted: bool, kind: String) {
    if counted {
        out.errors += 1;
        if out.error_kinds.len() < 5 && !out.error_kinds.contains(&kind) {
            out.error_kinds.push(kind);
        }
    }
}

/// One keep-alive connection (reconnecting after a transport failure) until `end`.
async fn connection(target: Target, measure_from: Instant, end: Instant) -> Outcome {
    let mut out = Outcome::default();
    'connect: while Instant::now() < end {
        let stream = match TcpStream::connect(target.addr).await {
            Ok(s) => s,
            Err(e) => {
                note(
                    &mut out,
                    Instant::now() >= measure_from,
                    format!("connect: {e}"),
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = match http1::handshake::<_, String>(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => {
                note(
                    &mut out,
                    Instant::now() >= measure_from,
                    format!("handshake: {e}"),
                );
                continue;
            }
        };
        tokio::spawn(conn);
        while Instant::now() < end {
            let request = request(&target);
            if sender.ready().await.is_err() {
                continue 'connect;
            }
            let sent = Instant::now();
            let answer = match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status();
                    match response.into_body().collect().await {
                        Ok(body) => Ok((status, body.to_bytes())),
                        Err(e) => Err(format!("body: {e}")),
                    }
                }
                Err(e) => Err(format!("send: {e}")),
            };
            let took = sent.elapsed();
            let counted = sent >= measure_from && Instant::now() <= end;
            match answer {
                Ok((StatusCode::OK, body)) if has_access_token(&body) => {
                    if counted {
                        out.latencies_us
                            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                    }
                }
                Ok((status, body)) => {
                    let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
                    note(&mut out, counted, format!("{status}: {text}"));
                }
                Err(kind) => {
                    note(&mut out, counted, kind);
                    continue 'connect;
                }
            }
        }
        break;
    }
    out
}

/// Whether a token response carries an `access_token` (a byte search, like `wrk` scripts do:
/// parsing JSON here would take CPU from the server under test on the same cores).
fn has_access_token(body: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"\"access_token\":\"ey";
    body.windows(NEEDLE.len()).any(|w| w == NEEDLE)
}
