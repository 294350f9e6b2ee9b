//! The plain-HTTP operations endpoints of a process (health probes, Prometheus metrics),
//! served around its other parts by [`serve_during`].

mod endpoint;
mod serve;

pub use endpoint::{EndpointError, HttpEndpoint};
pub use serve::{OpsEndpoints, serve_during};
