//! Agents' PKCS#10 CSRs (before authentication for node attestation): no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_server::fuzzing::csr(data));
