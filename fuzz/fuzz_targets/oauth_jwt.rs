//! The server's JWT entry points: `private_key_jwt` client assertions, access tokens
//! (introspection, UserInfo) and `id_token_hint`: no panic, whatever the token.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        tessera_server::fuzzing::jwts(token);
    }
});
