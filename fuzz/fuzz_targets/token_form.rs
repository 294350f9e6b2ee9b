//! Token / introspection / revocation request bodies (anyone on the network): no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_server::fuzzing::token_form(data));
