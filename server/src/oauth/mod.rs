//! The OAuth 2.0 authorization server: clients (and, in its own module, the HTTP surface).

pub mod clients;
