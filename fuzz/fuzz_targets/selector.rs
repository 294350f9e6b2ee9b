//! Selectors (`type:value`): parsing never panics; a parsed selector round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_proto::identity::Selector;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = Selector::parse(text) {
        let again = Selector::new(selector.kind(), selector.value()).expect("parts are valid");
        assert_eq!(again, selector);
        assert_eq!(Selector::parse(&selector.to_string()).ok(), Some(selector));
    }
});
