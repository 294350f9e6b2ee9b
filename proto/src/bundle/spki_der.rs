//! From [`PublicJwk`] back to a DER SubjectPublicKeyInfo (the form the wire `Bundle` keeps
//! JWT authorities in), the inverse of [`PublicJwk::from_spki_der`].

use super::jwk::{EcCurve, PublicJwk, strip_zeros};

/// `id-ecPublicKey` (1.2.840.10045.2.1), DER-encoded with tag and length.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `secp384r1` (1.3.132.0.34).
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// `secp521r1` (1.3.132.0.35).
const OID_P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
/// `rsaEncryption` (1.2.840.113549.1.1.1) followed by its NULL parameters.
const RSA_ALGORITHM: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Appends a DER tag-length-value.
fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
}

/// A non-negative DER INTEGER from big-endian magnitude bytes.
fn unsigned_integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let magnitude = strip_zeros(magnitude);
    let mut value = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(magnitude);
    tlv(out, 0x02, &value);
}

fn bit_string(out: &mut Vec<u8>, content: &[u8]) {
    let mut value = Vec::with_capacity(content.len() + 1);
    value.push(0); // no unused bits
    value.extend_from_slice(content);
    tlv(out, 0x03, &value);
}

impl PublicJwk {
    /// This key as a DER SubjectPublicKeyInfo (EC: uncompressed point with the named curve;
    /// RSA: `rsaEncryption` with an RSAPublicKey).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut algorithm = Vec::new();
        let mut key = Vec::new();
        match self {
            Self::Ec { crv, x, y } => {
                let mut oids = OID_EC_PUBLIC_KEY.to_vec();
                oids.extend_from_slice(match crv {
                    EcCurve::P256 => OID_P256,
                    EcCurve::P384 => OID_P384,
                    EcCurve::P521 => OID_P521,
                });
                tlv(&mut algorithm, 0x30, &oids);
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                bit_string(&mut key, &point);
            }
            Self::Rsa { n, e } => {
                tlv(&mut algorithm, 0x30, RSA_ALGORITHM);
                let mut integers = Vec::new();
                unsigned_integer(&mut integers, n);
                unsigned_integer(&mut integers, e);
                let mut rsa_key = Vec::new();
                tlv(&mut rsa_key, 0x30, &integers);
                bit_string(&mut key, &rsa_key);
            }
        }
        algorithm.extend_from_slice(&key);
        let mut out = Vec::new();
        tlv(&mut out, 0x30, &algorithm);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::bundle::test_certs::*;

    #[test]
    fn spki_round_trips_byte_for_byte() {
        for spki in [P256_SPKI, P384_SPKI, P521_SPKI, RSA_SPKI] {
            let original = der(spki);
            let key = PublicJwk::from_spki_der(&original).unwrap();
            assert_eq!(key.to_spki_der(), original, "{}", key.kty());
        }
    }

    #[test]
    fn rsa_integers_get_a_sign_byte_only_when_needed() {
        let key = PublicJwk::Rsa {
            n: vec![0x80, 0x01],
            e: vec![0x01, 0x00, 0x01],
        };
        let der = key.to_spki_der();
        let back = PublicJwk::from_spki_der(&der);
        // Too small to be a real RSA key for the parser's checks, but the encoding is exact.
        let tail = [0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01];
        assert!(der.ends_with(&tail), "{der:02x?} {back:?}");
    }
}
