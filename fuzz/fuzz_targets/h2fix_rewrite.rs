//! The agent's HTTP/2 `:authority` rewriter: bytes from any local user of the Workload API
//! socket. No panic, and the forwarded bytes do not depend on read boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((split, stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*split));
    tessera_agent::workload_api::h2fix::fuzzing::rewrite(stream, split);
});
