//! The bound: how many ES256 (ECDSA P-256, fixed-size signature) JWT signatures this machine
//! makes per second with aws-lc-rs on every core — what any ES256 token issuer is capped by.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::cpu;

/// A signing input the size of Tessera's access tokens (header + claims, base64url).
fn jwt_signing_input() -> String {
    let header = r#"{"alg":"ES256","typ":"at+jwt","kid":"oauth-0123456789abcdef0123456789abcdef"}"#;
    let claims = r#"{"iss":"https://auth.example.org","sub":"bench","aud":"https://api.example.org","exp":1795906203,"iat":1795905603,"jti":"Y2Q1ZjM4YjQtOTk0Ni00ZTRiLWI0ZDEtM2E4Mzc3NTRmNjRk","client_id":"bench","scope":"read"}"#;
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// What the signing run measured.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Signatures per wall-clock second over every thread.
    pub per_second: f64,
    /// CPU microseconds per signature.
    pub cpu_us_per_signature: f64,
    /// Cores other processes used meanwhile.
    pub others: f64,
}

/// Signs on `threads` threads for `window`.
pub fn es256_rate(threads: usize, window: Duration) -> Bound {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let input = jwt_signing_input();
    let me = std::process::id();
    let cpu_before = cpu::process_seconds(me);
    let machine_before = cpu::machine_busy_seconds();
    let start = Instant::now();
    let signed: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let rng = SystemRandom::new();
                    let mut n = 0u64;
                    while start.elapsed() < window {
                        for _ in 0..64 {
                            let sig = key.sign(&rng, input.as_bytes()).unwrap();
                            std::hint::black_box(sig);
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu::process_seconds(me) - cpu_before;
    let machine = cpu::machine_busy_seconds() - machine_before;
    Bound {
        per_second: signed as f64 / wall,
        cpu_us_per_signature: cpu * 1e6 / (signed.max(1) as f64),
        others: ((machine - cpu) / wall).max(0.0),
    }
}
