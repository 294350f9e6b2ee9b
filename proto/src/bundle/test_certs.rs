//! Fixed test keys and certificates, generated once with `openssl` (see each constant).
//! Values are standard base64 of DER; none of the private keys were kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Decodes one of the constants below.
pub(crate) fn der(b64: &str) -> Vec<u8> {
    STANDARD.decode(b64).unwrap_or_default()
}

/// Self-signed EC P-256 CA, subject O=example.org serialNumber=1, URI SAN spiffe://example.org.
pub(crate) const EC_CERT_1: &str = "\
    MIIBrDCCAVGgAwIBAgIUInFpelQOiPA3uRgumYMHK+pCc8AwCgYIKoZIzj0EAwIwIjEUMBIGA1UECgwLZXhhbXBs\
    ZS5vcmcxCjAIBgNVBAUTATEwIBcNMjYxMTI4MjAxOTQxWhgPMjEyNjExMDQyMDE5NDFaMCIxFDASBgNVBAoMC2V4\
    YW1wbGUub3JnMQowCAYDVQQFEwExMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzbKiqJBKMHmwmlX0NV/qZjSW\
    7KJUkgFBIPe6c+ZkJ8VkJOUUWKNVPRwiwGpvFF5E5X71NTsZYWfVDxy/45O5fqNjMGEwDwYDVR0TAQH/BAUwAwEB\
    /zAOBgNVHQ8BAf8EBAMCAQYwHwYDVR0RBBgwFoYUc3BpZmZlOi8vZXhhbXBsZS5vcmcwHQYDVR0OBBYEFEH3PI/o\
    Kz6HuBomNqs5yq1ufG5mMAoGCCqGSM49BAMCA0kAMEYCIQCEqLoI/6MQMmSwQ591U01Cm9ZAUthCqRXk0iAaisUo\
    mQIhAJ3DxFj/moEOzqHiSKi/xpvQDAXFy6BrI9Yje6ydOjP3";

/// A second self-signed EC P-256 CA (serialNumber=2) for the same trust domain.
pub(crate) const EC_CERT_2: &str = "\
    MIIBrDCCAVGgAwIBAgIUFE29uF+B6xTjEQnY/XHbZ/tVco0wCgYIKoZIzj0EAwIwIjEUMBIGA1UECgwLZXhhbXBs\
    ZS5vcmcxCjAIBgNVBAUTATIwIBcNMjYxMTI4MjAxOTQxWhgPMjEyNjExMDQyMDE5NDFaMCIxFDASBgNVBAoMC2V4\
    YW1wbGUub3JnMQowCAYDVQQFEwEyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETwMoDt0dbASfq24HOEF/1PG2\
    Wkxzj15DCRr6Ns0MtIFPw3xEy5RdIkd7DY83bSe/b++qK4jvs7LoYk5yeHs3QqNjMGEwDwYDVR0TAQH/BAUwAwEB\
    /zAOBgNVHQ8BAf8EBAMCAQYwHwYDVR0RBBgwFoYUc3BpZmZlOi8vZXhhbXBsZS5vcmcwHQYDVR0OBBYEFFyq/mkB\
    6pGdafjUuab00KqkAxZ3MAoGCCqGSM49BAMCA0kAMEYCIQDOzc8S1dhr1ediEiJoLKXAg9AhfEJnfokAxLEALrGM\
    pQIhAM/D8X3MpWRIvkvCg3Dxv6TcN5Qrr4fcUTMGVbc8XMT3";

/// Self-signed RSA-2048 CA (serialNumber=3), URI SAN spiffe://example.org.
pub(crate) const RSA_CERT: &str = "\
    MIIDNzCCAh+gAwIBAgIUcobC4ZHp6jw7JPwmza/k33B6LmAwDQYJKoZIhvcNAQELBQAwIjEUMBIGA1UECgwLZXhh\
    bXBsZS5vcmcxCjAIBgNVBAUTATMwIBcNMjYxMTI4MjAxOTQyWhgPMjEyNjExMDQyMDE5NDJaMCIxFDASBgNVBAoM\
    C2V4YW1wbGUub3JnMQowCAYDVQQFEwEzMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmTl/ZaCUUNW/\
    Npzw1W2AV0tMCCDd6DSb3UyBUHI3mR/tfbQ3wnF3KOyYJzWwVdc2m5+PDGZBFspimhWQYC6TBiXxUS1SR037dNk/\
    ctNOXFG/sX67ZGC57Cm/iYT0rY8q0EEKz3ulac9CYRw18CEEmQ09hf3FNGdO8b6FYRJVVJpZZS5R4JFIopbxVNBm\
    UOQSDpTTzTCnjUrqQ3TtfY+KgfIbho1xOqYW4nfgzwap2AkaNK4ycuwtk4ztCRoKBwOo5IoBD9OzjqYycsRhgjhg\
    QSK1LkL5S37IugwqZ24zx4YBUdO9t7p+Bltr2S4R+eHQ4pTiPG+4lZgA1t5JhD/v3QIDAQABo2MwYTAPBgNVHRMB\
    Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAfBgNVHREEGDAWhhRzcGlmZmU6Ly9leGFtcGxlLm9yZzAdBgNVHQ4E\
    FgQUMIiFWY2tPCymNx4xot39CgaruowwDQYJKoZIhvcNAQELBQADggEBAB+M/TP7n2vHuKbrSSjmMxgxAMvhSr4Y\
    OawRAMIq6ewraenlF/lgr2Qmq/E3gxOkR7ZG5IijGKxooefHojhCs4/U6tcSxglqn8edBG2wS9GOh814gVu3oPoC\
    fmAg1Wt2N6zNbbWkejvZdmM2PXGPNwh0FYh1IX6eZHPijGJ2CwSzJfeVB6oc93EJpc++eemzcDUjF+8cjmpQm7jI\
    uTj/sxfNs5deVkQUE4tSzza1UbEiJpZ0UodjCrxRqIBrHQ678aluBrSI7Mm9FFW53EqZ8tX2s9yC5bmBWhHQddTN\
    SdnoBVAQPttYpg5B7CejoNF1REDEylpvNza976Rb3wO6Xuw=";

/// SubjectPublicKeyInfo of EC_CERT_1's key (uncompressed point).
pub(crate) const P256_SPKI: &str = "\
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzbKiqJBKMHmwmlX0NV/qZjSW7KJUkgFBIPe6c+ZkJ8VkJOUUWKNV\
    PRwiwGpvFF5E5X71NTsZYWfVDxy/45O5fg==";

/// The same P-256 key as a compressed point.
pub(crate) const P256_COMPRESSED_SPKI: &str = "\
    MDkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDIgACzbKiqJBKMHmwmlX0NV/qZjSW7KJUkgFBIPe6c+ZkJ8U=";

/// An EC P-384 SubjectPublicKeyInfo.
pub(crate) const P384_SPKI: &str = "\
    MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEBrh7V1oihX+0Ex2dO2JiVJ1rkSMkyVvg6CW1+f5WnljFjPo3YDZiIJ68\
    YYASc0JIcpVyJ9tSVSqIa1tcOdBqmdP8CgVu/y4A9Om8uEDSfxmvn0p/NIo0hwHZMnGq7x6R";

/// An EC P-521 SubjectPublicKeyInfo.
pub(crate) const P521_SPKI: &str = "\
    MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBPTbqMHevq3tYdQgQDLOuViD9sKfMrKmDAHD69Fps+1LIiVrW5w0y\
    0FlpSiBXY/miosn5uRsOByz2NalrGDcM3aQBGQVy0DuQrT8yYpSuXR278rGkADs1A5hgpM4PezGuCZuXpgUtGTlT\
    uOtiFTenjkJcE/jWZuI38TVsMvyMHI7/SZY=";

/// An EC secp256k1 SubjectPublicKeyInfo (a curve JOSE/SPIFFE here does not support).
pub(crate) const SECP256K1_SPKI: &str = "\
    MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAECczuqD2c9UlCzCVZMqRJtgtZKz4O9qEhiNFYgk3tjfQi1TN2XTMewWcv\
    056qIG6m8NhoiFt2EdTjaLocneWA0w==";

/// An Ed25519 SubjectPublicKeyInfo (an algorithm we do not support).
pub(crate) const ED25519_SPKI: &str = "\
    MCowBQYDK2VwAyEAGNniTeDzIN3HT4SGlm+cizP0cwadroe7hDhw3kefYzI=";

/// SubjectPublicKeyInfo of RSA_CERT's key.
pub(crate) const RSA_SPKI: &str = "\
    MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmTl/ZaCUUNW/Npzw1W2AV0tMCCDd6DSb3UyBUHI3mR/t\
    fbQ3wnF3KOyYJzWwVdc2m5+PDGZBFspimhWQYC6TBiXxUS1SR037dNk/ctNOXFG/sX67ZGC57Cm/iYT0rY8q0EEK\
    z3ulac9CYRw18CEEmQ09hf3FNGdO8b6FYRJVVJpZZS5R4JFIopbxVNBmUOQSDpTTzTCnjUrqQ3TtfY+KgfIbho1x\
    OqYW4nfgzwap2AkaNK4ycuwtk4ztCRoKBwOo5IoBD9OzjqYycsRhgjhgQSK1LkL5S37IugwqZ24zx4YBUdO9t7p+\
    Bltr2S4R+eHQ4pTiPG+4lZgA1t5JhD/v3QIDAQAB";

/// base64url `x` of EC_CERT_1's key.
pub(crate) const EC_CERT_1_X: &str = "zbKiqJBKMHmwmlX0NV_qZjSW7KJUkgFBIPe6c-ZkJ8U";

/// base64url `y` of EC_CERT_1's key.
pub(crate) const EC_CERT_1_Y: &str = "ZCTlFFijVT0cIsBqbxReROV-9TU7GWFn1Q8cv-OTuX4";
