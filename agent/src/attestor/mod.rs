//! Attestors. Node attestors prove the node's identity to the server; workload attestors
//! arrive with the Workload API.

pub mod node;
