//! A Kubernetes API stand-in for tests: kube-apiserver (TokenReview, pods, nodes, issuer
//! discovery) over HTTPS, and a kubelet's `/pods`, faithful to the wire for what Tessera calls.

mod api;
mod collections;
mod objects;
mod review;
mod standin;
mod state;
mod tls;
mod token;

pub use standin::KubeStandIn;
pub use state::{ContainerInfo, ContainerSpec, NodeInfo, PodInfo, PodSpec};
pub use token::TokenRequest;
