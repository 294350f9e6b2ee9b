//! `tessera_build_info{binary, version} 1`.

use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Registers `tessera_build_info` with the binary's name and version on `registry` (the
/// root registry: the name carries no binary prefix so one query covers both).
pub fn register_build_info(registry: &mut Registry, binary: &'static str, version: &'static str) {
    let info = Info::new(vec![("binary", binary), ("version", version)]);
    registry.register(
        "tessera_build",
        "Which Tessera binary and version this is (always 1)",
        info,
    );
}
