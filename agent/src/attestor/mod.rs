//! Attestors. Node attestors prove the node's identity to the server; workload attestors
//! find the selectors of a process calling the Workload API.

pub mod node;
pub mod workload;
