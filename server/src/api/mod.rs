//! gRPC surfaces. Domain errors become `tonic::Status` here and only here.

pub mod admin;
pub mod agent;

mod status;
pub mod uds;

pub use status::{
    attestation_status, ca_status, client_status, datastore_status, registration_status,
};
