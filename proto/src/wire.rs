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
