//! The SPIFFE Workload API served to workloads on the agent's Unix socket.

pub mod h2fix;
