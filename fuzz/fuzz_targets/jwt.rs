//! The one compact JWS/JWT parser and the JWT-SVID validation on top of it (tokens from
//! workloads, federation peers and OAuth clients): no panic; what splits is consistent.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use tessera_proto::jwt::{numeric_date, split_compact};
use tessera_proto::jwt_svid::validate_jwt_svid;
use tessera_proto::wire::tessera::types::v1::{Bundle, JwtAuthority};

/// DER SubjectPublicKeyInfo of a P-256 key (the curve's generator point).
const P256_SPKI: [u8; 91] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1,
    0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe,
    0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b,
    0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jws) = split_compact(token) {
        assert!(token.starts_with(jws.signing_input));
        assert!(token.ends_with(jws.signature));
        for claim in ["exp", "iat", "nbf"] {
            if let Some(v) = jws.claims.get(claim) {
                let _ = numeric_date(v);
            }
        }
    }
    let bundle = Bundle {
        trust_domain: "example.org".into(),
        jwt_authorities: vec![JwtAuthority {
            key_id: "k1".into(),
            public_key: P256_SPKI.to_vec(),
            expires_at: 4_000_000_000,
            tainted: false,
        }],
        ..Default::default()
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = validate_jwt_svid(token, "aud", [&bundle], now);
});
