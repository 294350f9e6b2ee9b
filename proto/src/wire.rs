//! Generated gRPC code for every contract in `protos/`.

/// The SPIFFE Workload API (no proto package: paths are `/SpiffeWorkloadAPI/<Method>`).
pub mod workload {
    tonic::include_proto!("_");
}

/// Tessera's own APIs, versioned by package.
pub mod tessera {
    /// Types shared by the agent and admin APIs.
    pub mod types {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tessera.types.v1");
        }
    }
    /// The agent ↔ server API.
    pub mod agent {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tessera.agent.v1");
        }
    }
    /// The operator (admin) API.
    pub mod admin {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tessera.admin.v1");
        }
    }
}

/// The encoded `google.protobuf.FileDescriptorSet` of every contract in `protos/`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

/// Every RPC path (`/<package>.<Service>/<Method>`) of the services declared in proto
/// package `package` (e.g. `tessera.admin.v1`), from [`FILE_DESCRIPTOR_SET`].
pub fn rpc_paths(package: &str) -> Result<Vec<String>, prost::DecodeError> {
    let set: prost_types::FileDescriptorSet = prost::Message::decode(FILE_DESCRIPTOR_SET)?;
    let mut paths = Vec::new();
    for file in set.file.iter().filter(|f| f.package() == package) {
        for service in &file.service {
            for method in &service.method {
                paths.push(format!("/{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    Ok(paths)
}
