//! The CPU bound of X.509-SVID issuance, measured on this machine in the same run: every
//! P-256 primitive one SVID costs (agent: key generation, CSR signature, chain check;
//! server: CSR verification, certificate signature), timed on one core with the crates the
//! code uses (rcgen + aws-lc-rs, x509-parser's aws verifier, the agent's chain check).

use std::time::{Duration, Instant, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use tessera_agent::x509::verify_svid_chain;
use tessera_proto::wire::tessera::types::v1::{Bundle, X509Authority};
use x509_parser::prelude::FromDer as _;

/// One primitive's name and its mean wall time on one thread.
pub struct Primitive {
    pub name: &'static str,
    pub per_op: Duration,
}

/// The measured primitives and the bound they give.
pub struct Bound {
    pub primitives: Vec<Primitive>,
    pub cores: usize,
}

impl Bound {
    /// CPU time of one SVID (the sum of its primitives).
    pub fn per_svid(&self) -> Duration {
        self.primitives.iter().map(|p| p.per_op).sum()
    }

    /// SVIDs per second with every core busy on nothing but this work.
    pub fn svids_per_second(&self) -> f64 {
        self.cores as f64 / self.per_svid().as_secs_f64()
    }
}

fn time<T>(n: usize, mut op: impl FnMut(usize) -> T) -> Duration {
    // Warm up, then the best of three rounds (least disturbed by other processes).
    for i in 0..n / 10 {
        std::hint::black_box(op(i));
    }
    (0..3)
        .map(|_| {
            let start = Instant::now();
            for i in 0..n {
                std::hint::black_box(op(i));
            }
            start.elapsed() / u32::try_from(n).unwrap()
        })
        .min()
        .unwrap()
}

const ID: &str = "spiffe://example.org/bench/issuance/bound";

/// Measures each primitive `n` times on this thread.
pub fn measure(n: usize) -> Bound {
    // A CA like the server's (P-256, self-signed).
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "bench");
    ca_params.subject_alt_names = vec![SanType::URI("spiffe://example.org".try_into().unwrap())];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let bundle = Bundle {
        trust_domain: "example.org".into(),
        x509_authorities: vec![X509Authority {
            asn1: ca_cert.der().to_vec(),
            tainted: false,
        }],
        ..Bundle::default()
    };

    let keys: Vec<KeyPair> = (0..n)
        .map(|_| KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap())
        .collect();
    let csrs: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| {
            let params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.serialize_request(k).unwrap().der().to_vec()
        })
        .collect();
    let leaf = |key: &KeyPair| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.subject_alt_names = vec![SanType::URI(ID.try_into().unwrap())];
        params.use_authority_key_identifier_extension = true;
        params.signed_by(key, &issuer).unwrap().der().to_vec()
    };
    let leaves: Vec<Vec<u8>> = keys.iter().map(leaf).collect();
    let now = SystemTime::now();

    let primitives = vec![
        Primitive {
            name: "agent: P-256 key generation",
            per_op: time(n, |_| {
                KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap()
            }),
        },
        Primitive {
            name: "agent: CSR signature",
            per_op: time(n, |i| {
                let params = CertificateParams::new(Vec::<String>::new()).unwrap();
                params.serialize_request(&keys[i]).unwrap()
            }),
        },
        Primitive {
            name: "server: CSR verification",
            per_op: time(n, |i| {
                let (_, req) =
                    x509_parser::certification_request::X509CertificationRequest::from_der(
                        &csrs[i],
                    )
                    .unwrap();
                req.verify_signature().unwrap();
            }),
        },
        Primitive {
            name: "server: certificate signature",
            per_op: time(n, |i| leaf(&keys[i])),
        },
        Primitive {
            name: "agent: chain check",
            per_op: time(n, |i| {
                verify_svid_chain(std::slice::from_ref(&leaves[i]), &bundle, ID, now).unwrap();
            }),
        },
    ];
    Bound {
        primitives,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
    }
}
