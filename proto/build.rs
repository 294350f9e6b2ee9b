//! Compiles the .proto contracts with protox (pure Rust): no system `protoc` needed.

const PROTOS: &[&str] = &[
    "protos/workload.proto",
    "protos/tessera/types/v1/types.proto",
    "protos/tessera/agent/v1/agent.proto",
    "protos/tessera/admin/v1/admin.proto",
    "protos/tessera/admin/v1/api_keys.proto",
    "protos/tessera/admin/v1/access.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=protos");
    let fds = protox::compile(PROTOS, ["protos"])?;
    // The descriptors, for tests that walk every served RPC (the admin access table).
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("descriptors.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
