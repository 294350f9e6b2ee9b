//! Tests of the OAuth HTTP surface with in-memory fakes (router via `oneshot`, one over TCP).

mod audit;
mod client_auth;
mod code;
mod code_refresh;
mod code_support;
mod device;
mod discovery;
mod exchange;
mod fakes;
mod introspect;
mod limits;
mod refresh;
mod token;
mod userinfo;
