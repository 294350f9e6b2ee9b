//! A closed-loop HTTP/1.1 load generator (like `wrk`): N keep-alive connections, each
//! sending a POST as soon as its previous answer is in, for a warm-up and then a measured
//! window. Only answers inside the window count. By default every request is the same
//! ([`run`]); an [`Exchange`] per connection can vary the body and judge each answer (a
//! refresh token rotated at every request), and connections can be spread over several
//! servers ([`run_with`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::cpu::{Cores, Usage};

/// One POST to repeat.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub authorization: String,
    pub body: String,
}

/// What one connection sends and how it judges the answers.
pub trait Exchange: Send + 'static {
    /// The body of the next request; `None` when this connection has nothing left to send.
    fn body(&mut self) -> Option<Bytes>;
    /// Judges an answer: whether it counts as a success (it may update the state).
    fn answer(&mut self, status: StatusCode, body: &[u8]) -> bool;
    /// The last request's answer was lost (transport failure).
    fn lost(&mut self) {}
}

/// The same body every time; a success is a 200 carrying an access token.
#[derive(Debug, Clone)]
pub struct Fixed(Bytes);

impl Fixed {
    pub fn new(body: &str) -> Self {
        Self(Bytes::from(body.to_owned()))
    }
}

impl Exchange for Fixed {
    fn body(&mut self) -> Option<Bytes> {
        Some(self.0.clone())
    }

    fn answer(&mut self, status: StatusCode, body: &[u8]) -> bool {
        status == StatusCode::OK && has_access_token(body)
    }
}

/// A [`Target`] as ready-made request parts (cloning them is a reference-count bump).
#[derive(Clone)]
struct Prepared {
    addr: SocketAddr,
    uri: hyper::Uri,
    host: HeaderValue,
    /// `None` when the target's authorization is empty (a public client).
    authorization: Option<HeaderValue>,
    form: HeaderValue,
    json: HeaderValue,
    body: Bytes,
}

impl Prepared {
    fn new(target: &Target) -> Self {
        let value = |s: String| HeaderValue::from_maybe_shared(Bytes::from(s)).unwrap();
        Self {
            addr: target.addr,
            uri: target.path.parse().unwrap(),
            host: value(target.addr.to_string()),
            authorization: (!target.authorization.is_empty())
                .then(|| value(target.authorization.clone())),
            form: HeaderValue::from_static("application/x-www-form-urlencoded"),
            json: HeaderValue::from_static("application/json"),
            body: Bytes::from(target.body.clone()),
        }
    }

    fn request(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = self.uri.clone();
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host.clone());
        if let Some(authorization) = &self.authorization {
            headers.insert(header::AUTHORIZATION, authorization.clone());
        }
        headers.insert(header::CONTENT_TYPE, self.form.clone());
        headers.insert(header::ACCEPT, self.json.clone());
        request
    }
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
    /// CPU use during the window.
    pub cores: Cores,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.window.as_secs_f64()
    }

    /// Server CPU microseconds per successful token.
    pub fn server_us_per_token(&self) -> f64 {
        self.cores.server_seconds * 1e6 / (self.latencies_us.len().max(1) as f64)
    }

    /// Load-generator CPU microseconds per successful token.
    pub fn load_generator_us_per_token(&self) -> f64 {
        self.cores.load_generator_seconds * 1e6 / (self.latencies_us.len().max(1) as f64)
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

/// Runs `connections` closed-loop connections against `target` (served by process
/// `server_pid`), each repeating the target's body: `warmup`, then `window`.
pub async fn run(
    target: &Target,
    server_pid: u32,
    connections: usize,
    warmup: Duration,
    window: Duration,
) -> Outcome {
    let exchanges = (0..connections).map(|_| Fixed::new(&target.body)).collect();
    run_with(
        std::slice::from_ref(target),
        &[server_pid],
        exchanges,
        warmup,
        window,
    )
    .await
}

/// One closed-loop connection per exchange, connection `i` to `targets[i % targets.len()]`
/// (the servers are the processes `server_pids`, whose CPU time is summed): `warmup`, then
/// `window`. The targets' bodies are unused: each exchange makes its own.
pub async fn run_with<E: Exchange>(
    targets: &[Target],
    server_pids: &[u32],
    exchanges: Vec<E>,
    warmup: Duration,
    window: Duration,
) -> Outcome {
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + warmup;
    let end = measure_from + window;
    let prepared: Vec<Prepared> = targets.iter().map(Prepared::new).collect();
    let mut tasks = JoinSet::new();
    for (i, exchange) in exchanges.into_iter().enumerate() {
        let prepared = prepared[i % prepared.len()].clone();
        tasks.spawn(async move { connection(prepared, exchange, measure_from, end).await });
    }
    let pids = server_pids.to_vec();
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let first = Usage::now(&pids);
        tokio::time::sleep_until(end.into()).await;
        Usage::now(&pids).since(first)
    });
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
    all.cores = sampler.await.unwrap_or_default();
    all
}

/// One request on a fresh connection; returns the status line and body as text.
pub async fn one(target: &Target) -> String {
    let attempt = async {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let prepared = Prepared::new(target);
        let response = sender
            .send_request(prepared.request(prepared.body.clone()))
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

fn note(out: &mut Outcome, counted: bool, kind: String) {
    if counted {
        out.errors += 1;
        if out.error_kinds.len() < 5 && !out.error_kinds.contains(&kind) {
            out.error_kinds.push(kind);
        }
    }
}

/// One keep-alive connection (reconnecting after a transport failure) until `end`, or
/// until `exchange` has nothing left to send.
async fn connection<E: Exchange>(
    target: Prepared,
    mut exchange: E,
    measure_from: Instant,
    end: Instant,
) -> Outcome {
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
        let (mut sender, conn) =
            match http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await {
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
            if sender.ready().await.is_err() {
                continue 'connect;
            }
            let Some(body) = exchange.body() else {
                break 'connect;
            };
            let request = target.request(body);
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
                Ok((status, body)) if exchange.answer(status, &body) => {
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
                    exchange.lost();
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
pub fn has_access_token(body: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"\"access_token\":\"ey";
    body.windows(NEEDLE.len()).any(|w| w == NEEDLE)
}
