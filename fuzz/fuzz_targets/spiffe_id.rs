//! SPIFFE IDs: parsing never panics, and what parses prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_proto::identity::SpiffeId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = SpiffeId::parse(text) {
        assert_eq!(id.as_str(), text);
        let again = SpiffeId::parse(id.as_str()).expect("a parsed ID parses again");
        assert_eq!(again, id);
        assert!(id.is_member_of(id.trust_domain()));
    }
});
