//! Compiles the .proto contracts with protox (pure Rust): no system `protoc` needed.

const PROTOS: &[&str] = &[
    "protos/workload.proto",
    "protos/tessera/types/v1/types.proto",
    "protos/tessera/agent/v1/agent.proto",
    "protos/tessera/admin/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=protos");
    let fds = protox::compile(PROTOS, ["protos"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
