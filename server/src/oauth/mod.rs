//! OAuth 2.0 authorization server for callers outside the mesh.
//!
//! - [`http`]: the HTTP surface (discovery, JWKS, token, introspection, revocation).

pub mod http;
