//! Tests of the OAuth HTTP surface with in-memory fakes (router via `oneshot`, one over TCP).

mod audit;
mod client_auth;
mod discovery;
mod exchange;
mod fakes;
mod introspect;
mod limits;
mod token;
