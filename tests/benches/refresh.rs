//! `refresh_token` grants per second at concurrency 64, in process, with sled on disk.
//!
//! A real `SledStore` in a temp dir, the real `OAuthServer` router (real client
//! authenticator, an ES256 signer over a fresh key) served on a loopback TCP listener,
//! 10,000 grant families seeded through `Grants::start`, then 64 workers, each with its own
//! keep-alive connection and its own share of the families, refresh (rotating every family
//! chain) for ~10 s. Every refresh is durable (flushed) before its answer. Prints grants/s
//! and p50/p99 next to the target (≥ 10,000/s on 2 cores); no timed assertions. Run with
//! `cargo bench -p tessera-tests --bench refresh` (`REFRESH_BENCH_SECS` to change 10 s;
//! 2 s with `TESSERA_BENCH_QUICK=1`). Figures also go to `$TESSERA_BENCH_RESULTS`.
//! The process uses the server binary's global allocator (mimalloc), as it must to measure
//! what the binary does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "refresh/seed.rs"]
mod seed;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tessera_tests::bench_report::{Results, pick};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tessera_proto::clock::SystemClock;
use tessera_proto::wire::tessera::types::v1::Bundle;
use tessera_server::datastore::SledStore;
use tessera_server::oauth::authenticator::StoreClientAuthenticator;
use tessera_server::oauth::grants::{GrantLifetimes, Grants};
use tessera_server::oauth::http::{
    OAuthHttpConfig, OAuthServer, SignFailure, TokenSigner, TrustBundles,
};
use tessera_tests::load::{Http1, percentile};
use tokio::task::JoinSet;

/// The allocator of the `tessera-server` binary.
#[global_allocator]
static GLOBAL: tessera_server::Allocator = tessera_server::Allocator;

const FAMILIES: usize = 10_000;
const WORKERS: usize = 64;
const CLIENT: &str = "bench-spa";
const TARGET_PER_SEC: f64 = 10_000.0;

struct Es256(EcdsaKeyPair);

impl TokenSigner for Es256 {
    fn jwks(&self) -> Value {
        let point = self.0.public_key().as_ref();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "b1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}]})
    }

    fn sign(
        &self,
        _now: SystemTime,
        claims: &Map<String, Value>,
        typ: &str,
    ) -> Result<String, SignFailure> {
        let header = json!({"alg": "ES256", "typ": typ, "kid": "b1"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        );
        let sig = self
            .0
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| SignFailure::Failed("sign".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }

    fn signing_deadline(&self) -> Option<SystemTime> {
        None
    }
}

struct NoBundles;

impl TrustBundles for NoBundles {
    async fn bundles(&self) -> Result<Vec<Bundle>, String> {
        Ok(Vec::new())
    }
}

struct WorkerResult {
    latencies: Vec<Duration>,
    errors: u64,
}

async fn worker(
    addr: std::net::SocketAddr,
    mut families: Vec<String>,
    stop: Arc<AtomicBool>,
) -> WorkerResult {
    let mut conn = Http1::connect(addr).await.unwrap();
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut errors = 0;
    let mut next = 0;
    let count = families.len();
    while !stop.load(Ordering::Relaxed) {
        let token = &mut families[next];
        next = (next + 1) % count;
        let body = format!("grant_type=refresh_token&client_id={CLIENT}&refresh_token={token}");
        let started = Instant::now();
        let reply = conn.post_form("/oauth2/token", &body).await.unwrap();
        let took = started.elapsed();
        if reply.status != 200 {
            errors += 1;
            continue;
        }
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        *token = v["refresh_token"].as_str().unwrap().to_owned();
        latencies.push(took);
    }
    WorkerResult { latencies, errors }
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("REFRESH_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(pick(10, 2));
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let grants = Grants::new(store.clone(), GrantLifetimes::default());
    let seeding = Instant::now();
    let tokens = seed::seed(&store, &grants, CLIENT, FAMILIES, WORKERS).await;
    println!(
        "seeded {FAMILIES} families ({} users) in {:.1} s",
        seed::USERS,
        seeding.elapsed().as_secs_f64()
    );

    let mut config = OAuthHttpConfig::new("http://127.0.0.1");
    config.rate_per_second = 0;
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let server = OAuthServer::new(
        config,
        StoreClientAuthenticator::new(store.clone(), NoBundles),
        Es256(key),
        Arc::new(store.clone()),
        Arc::new(SystemClock),
    )
    .with_grants(Arc::new(grants));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let stop = Arc::new(AtomicBool::new(false));
    let mut shares: Vec<Vec<String>> = vec![Vec::new(); WORKERS];
    for (i, t) in tokens.into_iter().enumerate() {
        shares[i % WORKERS].push(t);
    }
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for share in shares {
        tasks.spawn(worker(addr, share, stop.clone()));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        let r = done.unwrap();
        latencies.extend(r.latencies);
        errors += r.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let rate = latencies.len() as f64 / elapsed;
    println!(
        "refresh_token grants: {} in {elapsed:.1} s at concurrency {WORKERS} ({} cores): {rate:.0}/s \
         (target >= {TARGET_PER_SEC:.0}/s: {}), p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
        latencies.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if rate >= TARGET_PER_SEC {
            "met"
        } else {
            "NOT met"
        },
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
    );
    let mut results = Results::new("refresh");
    results.figure("refresh_token grants/s, c=64, in process", rate, "grants/s");
    for (p, label) in [(50.0, "p50"), (99.0, "p99")] {
        let ms = percentile(&latencies, p).as_secs_f64() * 1e3;
        results.figure(&format!("refresh_token {label}, c=64"), ms, "ms");
    }
    results.figure("refresh_token errors", errors as f64, "count");
}
