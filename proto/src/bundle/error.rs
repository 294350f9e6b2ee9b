//! Errors for reading and writing SPIFFE bundle documents and their JWKs.

use thiserror::Error;

use super::jwk::EcCurve;

/// Why a bundle document (or a public key) could not be parsed or emitted.
///
/// Problems with one key are reported as [`BundleError::Key`] with the index of the offending
/// element of the `keys` array; problems found while emitting a [`BundleDocument`] name the
/// index in `x509_authorities` / `jwt_authorities`.
///
/// [`BundleDocument`]: super::BundleDocument
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The input is not valid JSON (`reason` is the parser's message, with line and column).
    #[error("bundle is not valid JSON: {reason}")]
    NotJson {
        /// What the JSON parser reported.
        reason: String,
    },

    /// The JSON is valid but is not an object (a JWK Set is an object).
    #[error("bundle must be a JSON object (a JWK Set)")]
    NotAnObject,

    /// The required `keys` member is absent. (An empty array is valid: no authorities.)
    #[error("bundle has no \"keys\" member (it is required; use [] for a bundle with no keys)")]
    MissingKeys,

    /// `keys` is present but is not an array.
    #[error("bundle member \"keys\" must be an array")]
    KeysNotArray,

    /// `spiffe_sequence` is present but is not an integer in `0..=u64::MAX`.
    #[error("\"spiffe_sequence\" must be an integer from 0 to 2^64-1, found {found}")]
    InvalidSequence {
        /// The JSON value found (truncated).
        found: String,
    },

    /// `spiffe_refresh_hint` is present but is not an integer number of seconds in
    /// `0..=u64::MAX`.
    #[error(
        "\"spiffe_refresh_hint\" must be a whole number of seconds from 0 to 2^64-1, found {found}"
    )]
    InvalidRefreshHint {
        /// The JSON value found (truncated).
        found: String,
    },

    /// The element `keys[index]` of a parsed bundle is invalid.
    #[error("keys[{index}]: {source}")]
    Key {
        /// Zero-based index in the `keys` array.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: KeyError,
    },

    /// `x509_authorities[index]` of a document being emitted is invalid.
    #[error("x509_authorities[{index}]: {source}")]
    X509Authority {
        /// Zero-based index in `BundleDocument::x509_authorities`.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: KeyError,
    },

    /// `jwt_authorities[index]` of a document being emitted is invalid.
    #[error("jwt_authorities[{index}]: {source}")]
    JwtAuthority {
        /// Zero-based index in `BundleDocument::jwt_authorities`.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: KeyError,
    },

    /// A standalone public key (SPKI, certificate or JWK given on its own) is invalid.
    #[error("invalid public key: {0}")]
    PublicKey(#[source] KeyError),
}

/// What is wrong with one key (a JWK element, a certificate, or a SubjectPublicKeyInfo).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The JWK is not a JSON object.
    #[error("a JWK must be a JSON object")]
    NotAnObject,

    /// A required member (`use`, `kty`, `kid`, `x5c`, `crv`, `x`, `y`, `n` or `e`) is absent.
    #[error("required member {name:?} is missing")]
    MissingMember {
        /// The member's name.
        name: &'static str,
    },

    /// A member that must be a string is some other JSON type.
    #[error("member {name:?} must be a string")]
    MemberNotString {
        /// The member's name.
        name: &'static str,
    },

    /// A `jwt-svid` key has `"kid": ""`.
    #[error("\"kid\" must not be empty")]
    EmptyKid,

    /// A `jwt-svid` key reuses the `kid` of an earlier key.
    #[error("kid {kid:?} is already used at index {first_index}")]
    DuplicateKid {
        /// The repeated key ID (truncated).
        kid: String,
        /// Index of the first key with this `kid`.
        first_index: usize,
    },

    /// The same CA certificate appears twice in a document being emitted.
    #[error("the same certificate is already at index {first_index}")]
    DuplicateCertificate {
        /// Index of the first copy.
        first_index: usize,
    },

    /// `x5c` is not an array.
    #[error("member \"x5c\" must be an array of base64 strings")]
    X5cNotArray,

    /// `x5c` does not hold exactly one certificate (X509-SVID §6.1).
    #[error("member \"x5c\" must hold exactly one CA certificate, found {count}")]
    X5cCount {
        /// Number of elements found.
        count: usize,
    },

    /// `x5c[0]` is not a string.
    #[error("x5c[0] must be a string of standard base64")]
    X5cNotString,

    /// `x5c[0]` is not valid standard (padded, non-URL) base64 (RFC 7517 §4.7).
    #[error("x5c[0] is not valid standard base64: {reason}")]
    X5cBase64 {
        /// The decoder's message.
        reason: String,
    },

    /// The certificate is not a parsable DER X.509 certificate.
    #[error("not a parsable DER X.509 certificate: {reason}")]
    BadCertificate {
        /// The parser's message.
        reason: String,
    },

    /// The JWK's key parameters differ from the public key of the certificate in `x5c`.
    #[error("key parameters do not match the public key of the certificate in \"x5c\"")]
    CertificateKeyMismatch,

    /// A key parameter is not valid base64url (RFC 7518 §6).
    #[error("member {name:?} is not valid base64url: {reason}")]
    Base64Url {
        /// The member's name.
        name: &'static str,
        /// The decoder's message.
        reason: String,
    },

    /// An `EC` JWK names a curve other than P-256, P-384 or P-521.
    #[error("unsupported EC curve {crv:?} (supported: P-256, P-384, P-521)")]
    UnsupportedCurve {
        /// The curve as named in the JWK, or the OID of an SPKI's curve.
        crv: String,
    },

    /// An `EC` coordinate does not have the full length of the curve (RFC 7518 §6.2.1.2).
    #[error("EC coordinate {name:?} is {found} bytes, {curve} needs exactly {expected}")]
    CoordinateLength {
        /// `x` or `y`.
        name: &'static str,
        /// The curve.
        curve: EcCurve,
        /// Required length in bytes.
        expected: usize,
        /// Length found.
        found: usize,
    },

    /// An `RSA` parameter (`n` or `e`) is empty or zero.
    #[error("RSA parameter {name:?} is empty or zero")]
    ZeroRsaParameter {
        /// `n` or `e`.
        name: &'static str,
    },

    /// A standalone JWK has a `kty` other than `EC` or `RSA`. (Inside a bundle such keys are
    /// ignored, as the SPIFFE bundle format requires.)
    #[error("unsupported key type {kty:?} (supported: EC, RSA)")]
    UnsupportedKeyType {
        /// The `kty` found (truncated).
        kty: String,
    },

    /// The DER is not a parsable SubjectPublicKeyInfo.
    #[error("not a parsable SubjectPublicKeyInfo: {reason}")]
    BadSpki {
        /// The parser's message.
        reason: String,
    },

    /// The SPKI's algorithm is neither id-ecPublicKey nor rsaEncryption.
    #[error("unsupported public key algorithm {oid} (supported: EC P-256/P-384/P-521, RSA)")]
    UnsupportedKeyAlgorithm {
        /// The algorithm OID, dotted.
        oid: String,
    },

    /// An EC SPKI without a named-curve parameter.
    #[error("EC public key has no named-curve parameter")]
    MissingCurveParameter,

    /// An EC point that is not in uncompressed form (`0x04 || X || Y`).
    #[error("EC point encoding 0x{tag:02x} is not supported (only uncompressed, 0x04)")]
    UnsupportedPointFormat {
        /// The first byte of the point (0x02/0x03 compressed, 0x06/0x07 hybrid; 0 if empty).
        tag: u8,
    },

    /// An uncompressed EC point of the wrong length for its curve.
    #[error("EC point is {found} bytes, an uncompressed {curve} point is {expected}")]
    PointLength {
        /// The curve.
        curve: EcCurve,
        /// Required length (1 + 2 × coordinate length).
        expected: usize,
        /// Length found.
        found: usize,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_index_and_member() {
        let e = BundleError::Key {
            index: 3,
            source: KeyError::MissingMember { name: "kid" },
        };
        assert_eq!(e.to_string(), "keys[3]: required member \"kid\" is missing");
        assert!(std::error::Error::source(&e).is_some());

        let e = KeyError::CoordinateLength {
            name: "x",
            curve: EcCurve::P256,
            expected: 32,
            found: 31,
        };
        assert_eq!(
            e.to_string(),
            "EC coordinate \"x\" is 31 bytes, P-256 needs exactly 32"
        );

        let e = BundleError::JwtAuthority {
            index: 1,
            source: KeyError::DuplicateKid {
                kid: "k".into(),
                first_index: 0,
            },
        };
        assert_eq!(
            e.to_string(),
            "jwt_authorities[1]: kid \"k\" is already used at index 0"
        );
    }
}
