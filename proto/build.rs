//! Compiles the .proto contracts with protox (pure Rust): no system `protoc` needed.

const PROTOS: &[&str] = &[
    "protos/workload.proto",
    "protos/tessera/types/v1/types.proto",
    "protos/tessera/agent/v1/agent.proto",
    "protos/tessera/admin/v1/admin.proto",
];

/// Messages whose derived `Debug` would print a secret.
const REDACTED: [&str; 3] = [
    "tessera.admin.v1.CreateUserRequest",
    "tessera.admin.v1.SetPasswordRequest",
    "tessera.admin.v1.EnableTotpResponse",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=protos");
    let fds = protox::compile(PROTOS, ["protos"])?;
    tonic_prost_build::configure()
        // Messages carrying a password or a TOTP secret get a redacting Debug (wire.rs).
        .skip_debug(REDACTED)
        .compile_fds(fds)?;
    Ok(())
}
