//! SPIFFE bundle documents (JWKS from federation peers and `bundle set`): parsing never
//! panics; what parses serializes and parses back to the same bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_proto::bundle::BundleDocument;
use tessera_proto::identity::TrustDomain;

fuzz_target!(|data: &[u8]| {
    let td: TrustDomain = "example.org".parse().expect("valid trust domain");
    if let Ok(doc) = BundleDocument::parse(td.clone(), data) {
        let json = doc.to_json().expect("a parsed bundle serializes");
        let again = BundleDocument::parse(td, json.as_bytes()).expect("and parses again");
        assert_eq!(again, doc);
    }
});
