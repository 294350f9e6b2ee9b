//! Authorization request queries (any browser): parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_server::fuzzing::authorize_query(data));
